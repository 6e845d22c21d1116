#!/usr/bin/env bash
# Hosts for multi-host tests on one machine: each a network namespace with its own address
# (10.99.0.K/24) and, for the commands run in it, its own host name; all joined by a bridge
# that lives in a namespace too, so nothing is added to the machine's own network. Needs
# root, iproute2 and util-linux (nsenter, unshare).
#
#   cluster/netns-hosts.sh up PREFIX N       create hosts PREFIX1..PREFIXN (addresses .1..N)
#   cluster/netns-hosts.sh run PREFIX K CMD  run CMD on host K (its network, its host name)
#   cluster/netns-hosts.sh cut PREFIX K      take host K's link down (a lost host)
#   cluster/netns-hosts.sh down PREFIX       kill what runs on the hosts, remove them and the bridge
#
# cluster/netns-rsh.sh is the matching rsh agent for mpirun (`--rsh-agent`): it reaches a
# host by its address. PREFIX must be short: interface names are at most 15 characters.
set -euo pipefail
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1 prefix=$2
bridge="${prefix}br"
case "$action" in
  up)
    count=${3:?number of hosts}
    ip netns add "$bridge"
    ip -n "$bridge" link add br0 type bridge
    ip -n "$bridge" link set br0 up
    for k in $(seq 1 "$count"); do
      ip netns add "$prefix$k"
      ip -n "$prefix$k" link add eth0 type veth peer name "port$k" netns "$bridge"
      ip -n "$prefix$k" addr add "10.99.0.$k/24" dev eth0
      ip -n "$prefix$k" link set lo up
      ip -n "$prefix$k" link set eth0 up
      ip -n "$bridge" link set "port$k" master br0
      ip -n "$bridge" link set "port$k" up
    done ;;
  run)
    k=${3:?host number}; shift 3
    # ip netns exec would remount /sys; nsenter changes the network alone, unshare the name.
    exec nsenter --net="/run/netns/$prefix$k" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$prefix$k" "$@" ;;
  cut)
    k=${3:?host number}
    ip -n "$prefix$k" link set eth0 down ;;
  down)
    for namespace in $(ip netns list | awk '{print $1}' | grep -E "^${prefix}([0-9]+|br)$" || true); do
      # What still runs on a host (a rank cut off from the others spins on) goes with it.
      ip netns pids "$namespace" | xargs -r kill -9 2>/dev/null || true
      ip netns delete "$namespace"
    done ;;
  *) usage ;;
esac
