#!/usr/bin/env python3
"""Runs `dfkd bench distill --ranks` and bench/pytorch_distill.py (DDP over gloo) on the same
CPSC-DFKD iteration in this one invocation, in alternating rounds (the machines are noisy:
only figures taken together mean anything), and prints DataFreeKD / PyTorch ratios for
1 rank x 1 thread, 2 ranks x 1 thread and 1 rank x 2 threads.

    python3 bench/compare_distill.py [--dfkd .build/release/dfkd] [--rounds 2]
"""
import argparse
import json
import os
import sys

from compare import HERE, benchmark_environment, last_json

CONFIGURATIONS = [("1x1", 1, 1), ("2x1", 2, 1), ("1x2", 1, 2)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dfkd", default=os.path.join(HERE, "..", ".build", "release", "dfkd"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = benchmark_environment(OMP_WAIT_POLICY="PASSIVE")
    ours, theirs = {}, {}
    for _ in range(args.rounds):
        result = last_json([args.dfkd, "bench", "distill", "--ranks", "--rounds", "1", "--repeats", str(args.repeats),
                            "--iterations", "1", "--json"], env)
        for configuration in result["configurations"]:
            ours.setdefault(configuration["name"], []).append(configuration)
        ours.setdefault("efficiency", []).append(result["scaling_efficiency"])
        for name, ranks, threads in CONFIGURATIONS:
            theirs.setdefault(name, []).append(last_json(
                [sys.executable, os.path.join(HERE, "pytorch_distill.py"), "--ranks", str(ranks), "--threads", str(threads),
                 "--repeats", str(args.repeats), "--json"], env))
    rows = {}
    print(f"{'configuration':16} {'dfkd images/s':>14} {'pytorch':>10} {'ratio':>7} {'dfkd MiB/rank':>14} {'pytorch':>10}")
    for name, _, _ in CONFIGURATIONS:
        best_ours = max(ours[name], key=lambda r: r["images_per_second"])
        best_theirs = max(theirs[name], key=lambda r: r["images_per_second"])
        ratio = best_ours["images_per_second"] / best_theirs["images_per_second"]
        print(f"{name:16} {best_ours['images_per_second']:14.1f} {best_theirs['images_per_second']:10.1f} {ratio:7.2f} "
              f"{max(best_ours['peak_rss_mib']):14.0f} {max(best_theirs['peak_rss_mib']):10.0f}")
        rows[name] = {"dfkd": best_ours["images_per_second"], "pytorch": best_theirs["images_per_second"], "ratio": ratio,
                      "dfkd_rounds": [r["images_per_second"] for r in ours[name]],
                      "pytorch_rounds": [r["images_per_second"] for r in theirs[name]],
                      "dfkd_peak_rss_mib": best_ours["peak_rss_mib"], "pytorch_peak_rss_mib": best_theirs["peak_rss_mib"]}
    rows["dfkd_scaling_efficiency"] = ours["efficiency"]
    print(f"dfkd scaling efficiency per round: {', '.join(f'{e:.2f}' for e in ours['efficiency'])}")
    print(json.dumps(rows, sort_keys=True))


if __name__ == "__main__":
    main()
