#!/usr/bin/env bash
# mpirun's rsh agent for the hosts of cluster/netns-hosts.sh: called like ssh, as
# `netns-rsh.sh [options] ADDRESS COMMAND...`, it runs COMMAND through a shell on the host
# whose address is ADDRESS (10.99.0.K: host K). DFKD_NETNS_PREFIX names the hosts.
set -euo pipefail
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done
address=${1:?host address}; shift
prefix=${DFKD_NETNS_PREFIX:?DFKD_NETNS_PREFIX names the hosts (cluster/netns-hosts.sh)}
exec "$(dirname "$0")/netns-hosts.sh" run "$prefix" "${address##*.}" sh -c "$*"
