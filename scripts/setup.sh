#!/usr/bin/env bash
# Installs the Debian packages DataFreeKD builds against (Debian 12, as root). Safe to re-run.
set -euo pipefail
packages=(pkg-config libopenblas-dev libdnnl-dev libhdf5-dev hdf5-tools zlib1g-dev gzip libopenmpi-dev openmpi-bin libpng-dev iproute2 util-linux python3-h5py slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=900 "${missing[@]}"
fi
