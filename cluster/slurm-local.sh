#!/usr/bin/env bash
# A throwaway Slurm cluster on this machine, for tests and trials: munge, slurmctld and one
# slurmd per node, every file (keys, config, state, logs, pid files) under DIR. Needs root
# and Debian's slurm-wlm and munge packages.
#
#   cluster/slurm-local.sh up DIR [NODES [PREFIX]]  start; NODES > 1 puts each node in a
#                                                   host of cluster/netns-hosts.sh PREFIX
#   cluster/slurm-local.sh env DIR                  print the SLURM_CONF line to eval
#   cluster/slurm-local.sh client DIR COMMAND...    run a Slurm command against it (sbatch,
#                                                   squeue, ...; on namespace hosts, from host 1)
#   cluster/slurm-local.sh down DIR                 stop every daemon it started (and the hosts)
#
# The daemons' own output goes to DIR/daemons.out, their logs to DIR/*.log: a caller that
# reads this script's output is not held open by them.
#
# One node runs on 127.0.0.1 under this machine's short host name; several nodes are
# namespace hosts PREFIX1..PREFIXN (addresses 10.99.0.K), slurmctld on host 1. Each node
# has CPUS (default: this machine's) CPUs. Jobs are not requeued by Slurm itself
# (JobRequeue=0): DataFreeKD's batch scripts requeue a stopped run themselves.
set -euo pipefail
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)

start_munge() {
  mkdir -p "$dir/munge"
  chmod 0755 "$dir/munge"  # munged refuses a socket directory of mode 0700
  [ -f "$dir/munge/key" ] || { head -c 1024 /dev/urandom > "$dir/munge/key"; chmod 0400 "$dir/munge/key"; }
  munged --socket="$dir/munge/sock" --key-file="$dir/munge/key" --pid-file="$dir/munge/pid" \
    --log-file="$dir/munge/log" --seed-file="$dir/munge/seed" --force </dev/null >>"$dir/daemons.out" 2>&1
}

write_config() {  # NODES, CONTROLLER, CONTROLLER_ADDRESS, node names and addresses
  local nodes=$1 controller=$2 address=$3; shift 3
  local cpus=${CPUS:-$(nproc --all)} memory  # nproc alone follows OMP_NUM_THREADS
  memory=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
  cat > "$dir/slurm.conf" <<EOF
ClusterName=dfkd-local
SlurmctldHost=$controller($address)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
JobRequeue=0
SlurmdTimeout=10
KillWait=5
MinJobAge=3600
EOF
  local names=()
  while [ $# -gt 0 ]; do
    echo "NodeName=$1 NodeAddr=$2 CPUs=$cpus RealMemory=$memory State=UNKNOWN" >> "$dir/slurm.conf"
    names+=("$1"); shift 2
  done
  echo "PartitionName=main Nodes=$(IFS=,; echo "${names[*]}") Default=YES MaxTime=INFINITE State=UP" >> "$dir/slurm.conf"
  mkdir -p "$dir/state"
  for name in "${names[@]}"; do
    mkdir -p "$dir/spool/$name" "$dir/node-$name"
    ln -sf "$dir/slurm.conf" "$dir/node-$name/slurm.conf"
    # Each node's pmix plugin needs a directory of its own.
    echo "PMIxCliTmpDirBase=$dir/spool/$name" > "$dir/node-$name/mpi.conf"
  done
}

# A Slurm client command against the cluster: on namespace hosts, from host 1.
client() {
  if [ -f "$dir/hosts" ]; then
    "$here/netns-hosts.sh" run "$(cat "$dir/hosts")" 1 env SLURM_CONF="$dir/slurm.conf" "$@"
  else
    SLURM_CONF=$dir/slurm.conf "$@"
  fi
}

wait_idle() {  # NODES
  local deadline=$((SECONDS + 60))
  until [ "$(client sinfo -h -o '%T %D' 2>/dev/null | awk '$1 == "idle" {n += $2} END {print n + 0}')" -ge "$1" ]; do
    [ $SECONDS -lt $deadline ] || { echo "slurm-local: the nodes did not become idle; logs in $dir" >&2; exit 1; }
    sleep 0.2
  done
}

case "$action" in
  up)
    # The daemons outlive this script: they must not hold a descriptor it inherited (a
    # caller's pipe would never reach its end).
    for fd in $(ls /proc/$$/fd); do
      [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
    done
    nodes=${3:-1} prefix=${4:-slurm}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    start_munge
    if [ "$nodes" -eq 1 ]; then
      host=$(hostname -s)
      write_config 1 "$host" 127.0.0.1 "$host" 127.0.0.1
      SLURM_CONF=$dir/slurm.conf slurmctld -i </dev/null >>"$dir/daemons.out" 2>&1
      SLURM_CONF=$dir/node-$host/slurm.conf slurmd -N "$host" </dev/null >>"$dir/daemons.out" 2>&1
    else
      echo "$prefix" > "$dir/hosts"
      "$here/netns-hosts.sh" up "$prefix" "$nodes"
      spec=()
      for k in $(seq 1 "$nodes"); do spec+=("$prefix$k" "10.99.0.$k"); done
      write_config "$nodes" "${prefix}1" 10.99.0.1 "${spec[@]}"
      "$here/netns-hosts.sh" run "$prefix" 1 env SLURM_CONF="$dir/slurm.conf" slurmctld -i </dev/null >>"$dir/daemons.out" 2>&1
      for k in $(seq 1 "$nodes"); do
        "$here/netns-hosts.sh" run "$prefix" "$k" env SLURM_CONF="$dir/node-$prefix$k/slurm.conf" slurmd -N "$prefix$k" \
          </dev/null >>"$dir/daemons.out" 2>&1
      done
    fi
    wait_idle "$nodes" ;;
  env)
    echo "export SLURM_CONF=$(cd "$dir" && pwd)/slurm.conf" ;;
  client)
    shift 2
    dir=$(cd "$dir" && pwd)
    client "$@" ;;
  down)
    [ -d "$dir" ] || exit 0
    for pidfile in "$dir"/slurmd-*.pid "$dir/slurmctld.pid" "$dir/munge/pid"; do
      [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    # The daemons take about a second to exit; they must be gone before their files are.
    for _ in $(seq 1 50); do
      alive=0
      for pidfile in "$dir"/slurmd-*.pid "$dir/slurmctld.pid" "$dir/munge/pid"; do
        [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && alive=1
      done
      [ $alive -eq 0 ] && break
      sleep 0.1
    done
    [ -f "$dir/hosts" ] && "$here/netns-hosts.sh" down "$(cat "$dir/hosts")"
    true ;;
  *) usage ;;
esac
