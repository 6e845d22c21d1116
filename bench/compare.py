#!/usr/bin/env python3
"""Runs the same workloads through `dfkd bench` and bench/pytorch_reference.py in this one
invocation, in alternating rounds (the machines are noisy: only ratios taken together mean
anything, and a run is slower right after the other side's), and prints DataFreeKD / PyTorch
ratios of each side's best round. Peak memory is each side's largest.

    python3 bench/compare.py [--dfkd .build/release/dfkd] [--threads 1] [--rounds 2]
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
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)} ended with status {run.returncode}:\n{run.stderr.strip()[-4000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dfkd", default=os.path.join(HERE, "..", ".build", "release", "dfkd"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    env = benchmark_environment(OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")
    rows = []
    for workload, options in WORKLOADS:
        ours_command = [args.dfkd, "bench", workload, *options, "--json"]
        theirs_command = [sys.executable, os.path.join(HERE, "pytorch_reference.py"), "--json", workload, *options]
        ours, theirs = [], []
        for index in range(args.rounds):
            # Each side goes first in every other round.
            if index % 2 == 0:
                ours.append(last_json(ours_command, env))
                theirs.append(last_json(theirs_command, env))
            else:
                theirs.append(last_json(theirs_command, env))
                ours.append(last_json(ours_command, env))
        name = " ".join([workload, *options[1::2]])
        if workload == "conv":
            measures = [(" forward GFLOP/s", "engine_forward_gflops", "forward_gflops"),
                        (" forward+backward GFLOP/s", "engine_gflops", "gflops"),
                        (" raw oneDNN forward+backward GFLOP/s", "raw_gflops", "gflops")]
        else:
            measures = [(" images/s", "images_per_second", "images_per_second"),
                        (" peak RSS MiB", "peak_rss_mib", "peak_rss_mib")]
        for label, our_key, their_key in measures:
            rows.append((name + label, [r[our_key] for r in ours], [r[their_key] for r in theirs]))
    print(f"{'workload':48} {'dfkd':>10} {'pytorch':>10} {'ratio':>7}   ({args.threads} thread(s), best of {args.rounds} rounds)")
    summary = {}
    for name, our_rounds, their_rounds in rows:
        # The best round of a rate, the largest of a memory peak: max either way.
        ours, theirs = max(our_rounds), max(their_rounds)
        print(f"{name:48} {ours:10.1f} {theirs:10.1f} {ours / theirs:7.2f}")
        summary[name] = {"dfkd": ours, "pytorch": theirs, "ratio": ours / theirs,
                         "dfkd_rounds": our_rounds, "pytorch_rounds": their_rounds}
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
