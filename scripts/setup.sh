#!/usr/bin/env bash
# Installs the Debian packages DataFreeKD builds against (Debian 12, as root). Safe to re-run.
set -euo pipefail
packages=(pkg-config libopenblas-dev libdnnl-dev libhdf5-dev hdf5-tools zlib1g-dev gzip libopenmpi-dev openmpi-bin libpng-dev iproute2 util-linux python3-h5py python3-venv slurm-wlm munge dataset-fashion-mnist)
# Headless Chromium renders the sweep report in its test; without its recommended packages
# (a desktop's) it is a third of the size.
lean=(chromium)
missing=() missing_lean=()
for p in "${lean[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_lean+=("$p")
done
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ $((${#missing[@]} + ${#missing_lean[@]})) -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  [ ${#missing[@]} -eq 0 ] || apt-get install -y -qq -o DPkg::Lock::Timeout=900 "${missing[@]}"
  [ ${#missing_lean[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=900 "${missing_lean[@]}"
fi
