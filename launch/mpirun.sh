#!/usr/bin/env bash
# Runs a DataFreeKD command as MPI ranks: on this machine, or across the hosts of a hostfile.
#
#   launch/mpirun.sh [options] -- COMMAND [ARGS...]
#
#   --ranks N             total ranks (default: hosts x ranks-per-node, or 2 on this machine)
#   --ranks-per-node K    ranks on each host (default: 2 here, 1 per host with a hostfile)
#   --threads-per-rank T  OMP_NUM_THREADS and OPENBLAS_NUM_THREADS of every rank (default 1);
#                         each rank is bound to T cores, or to none with --oversubscribe
#   --hostfile FILE       Open MPI hostfile (one host per line, optionally "slots=K")
#   --rankfile FILE       place and bind each rank as FILE says ("rank R=HOST slot=CORES", Open
#                         MPI's rankfile): ranks of runs side by side on disjoint cores
#   --rsh-agent PROGRAM   how mpirun reaches the other hosts (default ssh)
#   --network CIDR        keep MPI's traffic on this network (e.g. 10.99.0.0/24)
#   --oversubscribe       allow more ranks than cores (threads then float freely); chosen
#                         by itself here when ranks x threads exceed this machine's cores
#   --max-restarts N      restart the job up to N times (default 0) after it lost a rank (SIGKILL,
#                         SIGTERM, SIGHUP or SIGBUS ended it: killed, out of memory, a node going
#                         down) or a host (status 205); never after an error of the run (1, 3,
#                         64), a crash (another signal: a defect) or a stop (75). A `distill
#                         --out DIR` restarts as `--resume DIR`, a `train-teacher` with
#                         --resume, so each continues from its newest checkpoint
#   --min-ranks M         with a hostfile, a restart leaves out the hosts that no longer start
#                         an MPI process and runs on the others, down to M ranks (default: the
#                         ranks of the first start, so no host is left out); when rank 0's host
#                         is left out, it first waits for that rank's run lock to go stale
#                         (DFKD_LOCK_STALE_SECONDS, default 120)
#
# A lost host ends the job instead of hanging it: TCP keepalive on Open MPI's out-of-band
# channel notices within about 15 s. The job's exit status is this script's (the last
# start's). SIGINT (Ctrl-C), SIGTERM or SIGUSR1 to this script stops a run after its
# iteration with a checkpoint (status 75).
set -euo pipefail

ranks="" per_node="" threads=1 hostfile="" rankfile="" agent="" network="" oversubscribe=0 max_restarts=0 min_ranks=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks="$2"; shift 2 ;;
    --ranks-per-node) per_node="$2"; shift 2 ;;
    --threads-per-rank) threads="$2"; shift 2 ;;
    --hostfile) hostfile="$2"; shift 2 ;;
    --rankfile) rankfile="$2"; shift 2 ;;
    --rsh-agent) agent="$2"; shift 2 ;;
    --network) network="$2"; shift 2 ;;
    --oversubscribe) oversubscribe=1; shift ;;
    --max-restarts) max_restarts="$2"; shift 2 ;;
    --min-ranks) min_ranks="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "launch/mpirun.sh: unknown option '$1' (the command goes after --)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "launch/mpirun.sh: no command given (launch/mpirun.sh [options] -- COMMAND ...)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "launch/mpirun.sh: mpirun not found (Debian: apt-get install openmpi-bin)" >&2; exit 2; }
for value in "$max_restarts" "${min_ranks:-1}"; do
  [[ $value =~ ^[0-9]+$ ]] || { echo "launch/mpirun.sh: --max-restarts and --min-ranks take a whole number, not '$value'" >&2; exit 2; }
done

if [ -n "$hostfile" ]; then
  [ -r "$hostfile" ] || { echo "launch/mpirun.sh: hostfile '$hostfile' cannot be read" >&2; exit 2; }
  hosts=$(grep -cvE '^[[:space:]]*(#|$)' "$hostfile")
else
  hosts=1
fi
# Given the total alone, spread it evenly over the hosts; given neither, 2 here, 1 per host.
if [ -z "$per_node" ]; then
  if [ -n "$ranks" ]; then per_node=$(( (ranks + hosts - 1) / hosts ));
  elif [ -n "$hostfile" ]; then per_node=1; else per_node=2; fi
fi
ranks="${ranks:-$((hosts * per_node))}"
min_ranks="${min_ranks:-$ranks}"
if [ "$min_ranks" -lt 1 ] || [ "$min_ranks" -gt "$ranks" ]; then
  echo "launch/mpirun.sh: --min-ranks $min_ranks: expected 1 to the job's $ranks rank(s)" >&2; exit 2
fi
# On this machine alone, more ranks x threads than cores cannot be bound one to a core.
# (nproc would count OMP_NUM_THREADS instead of the cores.)
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
if [ -z "$hostfile" ] && [ -z "$rankfile" ] && [ "$oversubscribe" = 0 ] && [ $((per_node * threads)) -gt "$cores" ]; then
  echo "launch/mpirun.sh: $per_node rank(s) x $threads thread(s) exceed the $cores cores here; running unbound (--oversubscribe)" >&2
  oversubscribe=1
fi
[ -z "$rankfile" ] || [ -r "$rankfile" ] || { echo "launch/mpirun.sh: rankfile '$rankfile' cannot be read" >&2; exit 2; }

# What every mpirun of this script passes: how to reach the hosts and notice a lost one.
common=()
[ "$(id -u)" = 0 ] && common+=(--allow-run-as-root)
[ -n "$agent" ] && common+=(--mca plm_rsh_agent "$agent")
[ -n "$network" ] && common+=(--mca oob_tcp_if_include "$network" --mca btl_tcp_if_include "$network")
common+=(--mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 3)

# The job's mpirun options for `hosts_file` (empty: this machine) and `job_ranks`.
job_arguments() {
  local hosts_file=$1 job_ranks=$2
  args=("${common[@]}")
  [ -z "$hosts_file" ] || args+=(--hostfile "$hosts_file")
  if [ -n "$rankfile" ]; then
    args+=(-n "$(grep -c '^rank' "$rankfile")" --rankfile "$rankfile")
  elif [ "$oversubscribe" = 1 ]; then
    args+=(-n "$job_ranks" --map-by "ppr:${per_node}:node:PE=${threads}" --oversubscribe --bind-to none)
  else
    args+=(-n "$job_ranks" --map-by "ppr:${per_node}:node:PE=${threads}" --bind-to core)
  fi
  # Threads that wait passively leave a shared core to the rank that computes.
  args+=(-x OMP_NUM_THREADS="$threads" -x OPENBLAS_NUM_THREADS="$threads" -x OMP_WAIT_POLICY=PASSIVE)
  # A rank that crashes (a defect) prints Swift's backtrace; in plain text, for job logs.
  args+=(-x SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-color=no}")
  # Every rank looks for a dataset where rank 0 does.
  [ -z "${DFKD_DATA_DIR:-}" ] || args+=(-x DFKD_DATA_DIR)
}

# Errors are dfkd's to report, once: mpirun's banners (an abort, a rank's non-zero status)
# are left out of its standard error, but for what dfkd cannot report itself: the rank that
# a signal ended (killed, out of memory) and the host that was lost, each said in one line.
name_the_lost() {
  local line banner=0
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line =~ ^-{20,}$ ]]; then banner=$((1 - banner)); continue; fi
    if [ "$banner" = 0 ]; then printf '%s\n' "$line" >&2; continue; fi
    if [[ $line =~ process\ rank\ ([0-9]+)\ with\ PID\ [0-9]+\ on\ node\ ([^ ]+)\ exited\ on\ signal\ ([0-9]+) ]]; then
      echo "launch/mpirun.sh: rank ${BASH_REMATCH[1]} on host ${BASH_REMATCH[2]} was killed by SIG$(kill -l "${BASH_REMATCH[3]}") (signal ${BASH_REMATCH[3]})" >&2
    elif [[ $line =~ Remote\ daemon:.*\ on\ node\ ([^ ]+) ]]; then
      echo "launch/mpirun.sh: host ${BASH_REMATCH[1]} stopped answering (lost); the job ends" >&2
    fi
  done
}
work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT
stop_requested=0

# One start of the job: mpirun with `args` and COMMAND; its status in `status`.
#
# mpirun ends the job at once on SIGINT and SIGTERM; a stop request to this script reaches
# the ranks as SIGUSR1 instead (mpirun forwards it), so they checkpoint and exit 75
# (resumable), as a single process does. mpirun runs in a process group of its own (job
# control), so a Ctrl-C in the terminal reaches this script alone, and without stdin, which
# a background group may not read.
start_job() {
  rm -f "$work_dir/stderr"
  mkfifo "$work_dir/stderr"
  # Deaf to the signals that stop the job: it must read mpirun's last lines.
  ( trap '' INT TERM USR1; name_the_lost < "$work_dir/stderr" ) &
  local reader=$!
  set -m
  mpirun "${args[@]}" "$@" </dev/null 2>"$work_dir/stderr" &
  job=$!
  set +m
  trap 'stop_requested=1; kill -USR1 "$job" 2>/dev/null || true' INT TERM USR1
  set +e
  while :; do
    wait "$job"; status=$?
    kill -0 "$job" 2>/dev/null || break
  done
  set -e
  # The reader ends when the last writer of mpirun's standard error closes it; a helper of a
  # lost host's connection may hold it longer, so it gets a few seconds.
  for _ in $(seq 50); do kill -0 "$reader" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$reader" 2>/dev/null || true  # deaf to TERM
}

# COMMAND as a restart runs it: continuing from its newest checkpoint.
restart_command() {
  local kind="" word
  restarted=()
  for word in "$@"; do
    case "$word" in distill|train-teacher) kind=${kind:-$word} ;; esac
  done
  for word in "$@"; do
    if [ "$kind" = distill ] && [ "$word" = --out ]; then restarted+=(--resume)
    elif [ "$kind" = distill ] && [[ $word == --out=* ]]; then restarted+=("--resume=${word#--out=}")
    else restarted+=("$word"); fi
  done
  if [ "$kind" = train-teacher ] && [[ " $* " != *" --resume "* ]]; then restarted+=(--resume); fi
}

# The host lines of FILE (an Open MPI hostfile), comments and blank lines left out.
host_lines() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    printf '%s\n' "${line#"${line%%[![:space:]]*}"}"
  done < "$1"
}

# The host lines of `hostfile` whose host still starts a process under mpirun (within 20 s),
# into `alive`.
hosts_that_answer() {
  alive=()
  local line host
  while IFS= read -r line; do
    host=${line%%[[:space:]]*}
    if timeout -k 5 20 mpirun "${common[@]}" -n 1 --host "$host" true </dev/null >/dev/null 2>&1; then
      alive+=("$line")
    else
      echo "launch/mpirun.sh: host $host does not start a process (lost); left out" >&2
    fi
  done < <(host_lines "$hostfile")
}

# A lost rank or host: the signals the system sends a process it ends, and Open MPI's status
# for a lost daemon. A crash (SIGSEGV, a Swift trap) is a defect a restart would repeat.
lost_rank_or_host() {
  case "$1" in 205|$((128 + 1))|$((128 + 7))|$((128 + 9))|$((128 + 15))) return 0 ;; *) return 1 ;; esac
}

job_hostfile=$hostfile
job_ranks=$ranks
command=("$@")
job_arguments "$job_hostfile" "$job_ranks"
started=$(date +%s)
start_job "${command[@]}"
restarts=0
while [ "$stop_requested" = 0 ] && [ "$restarts" -lt "$max_restarts" ] && lost_rank_or_host "$status"; do
  restarts=$((restarts + 1))
  echo "launch/mpirun.sh: the job lost a rank or a host (status $status) after $(( $(date +%s) - started )) s; restart $restarts of at most $max_restarts" >&2
  if [ -n "$hostfile" ] && [ -z "$rankfile" ]; then
    mapfile -t job_hosts < <(host_lines "$job_hostfile")
    hosts_that_answer
    job_ranks=$(( ${#alive[@]} * per_node < ranks ? ${#alive[@]} * per_node : ranks ))
    if [ "$job_ranks" -lt "$min_ranks" ]; then
      echo "launch/mpirun.sh: the hosts that answer hold $job_ranks rank(s), fewer than --min-ranks $min_ranks; not restarted" >&2
      break
    fi
    # Rank 0 ran on the first host and holds the run's lock; from another host the lock is
    # taken over only once its heartbeat is stale.
    if [ "${alive[0]}" != "${job_hosts[0]}" ]; then
      stale=${DFKD_LOCK_STALE_SECONDS:-120}
      echo "launch/mpirun.sh: rank 0's host was lost; waiting ${stale} s for its run lock to go stale" >&2
      sleep "$stale" & wait $! || true
    fi
    job_hostfile="$work_dir/hostfile-$restarts"
    printf '%s\n' "${alive[@]}" > "$job_hostfile"
  fi
  [ "$stop_requested" = 0 ] || break
  restart_command "${command[@]}"
  command=("${restarted[@]}")
  job_arguments "$job_hostfile" "$job_ranks"
  echo "launch/mpirun.sh: restarting on $job_ranks rank(s): ${command[*]}" >&2
  started=$(date +%s)
  start_job "${command[@]}"
done
exit "$status"
