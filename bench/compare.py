#!/usr/bin/env python3
"""Runs the same workloads through `dfkd bench` and bench/pytorch_reference.py, one after the
other in this one invocation (the machines are noisy: only ratios taken together mean
anything), and prints DataFreeKD / PyTorch ratios.

    python3 bench/compare.py [--dfkd .build/release/dfkd] [--threads 1]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

WORKLOADS = [
    ("conv", []),
    ("train", ["--model", "wrn-16-1", "--batch", "128"]),
    ("train", ["--model", "lenet5", "--batch", "256"]),
]


def benchmark_environment(**settings):
    """The environment of both sides. DNNL_MAX_CPU_ISA below AVX-512 (AVX2, say) stands an
    AVX-512 machine in for an AVX2 one: oneDNN and dfkd's own kernels follow it, PyTorch's ATen
    kernels follow ATEN_CPU_CAPABILITY, which is set to match unless given."""
    env = dict(os.environ, **settings)
    cap = env.get("DNNL_MAX_CPU_ISA", "").lower()
    if cap and not cap.startswith(("avx512", "amx", "all")) and "ATEN_CPU_CAPABILITY" not in env:
        env["ATEN_CPU_CAPABILITY"] = "avx2" if cap.startswith("avx2") else "default"
    return env


def last_json(command, env):
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dfkd", default=os.path.join(HERE, "..", ".build", "release", "dfkd"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    env = benchmark_environment(OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")
    rows = []
    for workload, options in WORKLOADS:
        ours = last_json([args.dfkd, "bench", workload, *options, "--json"], env)
        theirs = last_json([sys.executable, os.path.join(HERE, "pytorch_reference.py"), "--json", workload, *options], env)
        name = " ".join([workload, *options[1::2]])
        if workload == "conv":
            rows.append((name + " forward GFLOP/s", ours["engine_forward_gflops"], theirs["forward_gflops"]))
            rows.append((name + " forward+backward GFLOP/s", ours["engine_gflops"], theirs["gflops"]))
            rows.append((name + " raw oneDNN forward+backward GFLOP/s", ours["raw_gflops"], theirs["gflops"]))
        else:
            rows.append((name + " images/s", ours["images_per_second"], theirs["images_per_second"]))
            rows.append((name + " peak RSS MiB", ours["peak_rss_mib"], theirs["peak_rss_mib"]))
    print(f"{'workload':48} {'dfkd':>10} {'pytorch':>10} {'ratio':>7}   ({args.threads} thread(s))")
    for name, ours, theirs in rows:
        print(f"{name:48} {ours:10.1f} {theirs:10.1f} {ours / theirs:7.2f}")
    print(json.dumps({name: {"dfkd": ours, "pytorch": theirs, "ratio": ours / theirs} for name, ours, theirs in rows},
                     sort_keys=True))


if __name__ == "__main__":
    main()
