#!/usr/bin/env python3
"""The selection study: for each run's metrics.jsonl, the real accuracy of the student each
data-free rule keeps against the best epoch by real accuracy, and how the probe's per-epoch
scores rank the epochs against their real accuracy (Spearman). Standard library only.

    python3 scripts/selection_study.py runs/*/metrics.jsonl
"""
import json
import sys


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            result[order[k]] = (start + end) / 2  # ties share their mean rank
        start = end + 1
    return result


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    covariance = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    spread = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return covariance / spread if spread else float("nan")


def study(path):
    lines = [json.loads(line) for line in open(path) if line.strip()]
    accuracy = [line["student_top1"] for line in lines]
    best = max(accuracy)
    picks = {"last": len(lines)}
    picks.update(lines[-1].get("picked_epoch_by_rule", {}))
    second_half = accuracy[len(accuracy) // 2:]
    mean = sum(second_half) / len(second_half)
    return {
        "run": path, "epochs": len(lines), "best": best, "best_epoch": accuracy.index(best) + 1,
        "picks": {rule: (epoch, accuracy[epoch - 1]) for rule, epoch in picks.items() if epoch > 0},
        "rho_agreement": spearman([line["probe_agreement"] for line in lines], accuracy),
        "rho_divergence": spearman([-line["probe_divergence"] for line in lines], accuracy),
        "second_half": (mean, sum((x - mean) ** 2 for x in second_half) / len(second_half)),
    }


def main(paths):
    rows = []
    for path in paths:
        # A run without real images has no accuracy to score; one without a bank has no probe scores.
        try:
            rows.append(study(path))
        except (KeyError, TypeError, ValueError) as missing:
            print(f"{path}: left out, its metrics lack {missing} (a run with --no-real-data, or without selection-study)", file=sys.stderr)
    rules = ["last", "agreement", "divergence"]
    print("| run | epochs | best (epoch) | " + " | ".join(f"{r}: epoch, top-1 (gap)" for r in rules)
          + " | Spearman, agreement / divergence | 2nd half mean (variance) |")
    print("|---" * (5 + len(rules)) + "|")
    gaps = {rule: [] for rule in rules}
    for row in rows:
        cells = []
        for rule in rules:
            if rule in row["picks"]:
                epoch, top1 = row["picks"][rule]
                gaps[rule].append(row["best"] - top1)
                cells.append(f"{epoch}, {top1:.2f} ({row['best'] - top1:.2f})")
            else:
                cells.append("-")
        print(f"| {row['run']} | {row['epochs']} | {row['best']:.2f} ({row['best_epoch']}) | " + " | ".join(cells)
              + f" | {row['rho_agreement']:.2f} / {row['rho_divergence']:.2f} | {row['second_half'][0]:.2f} ({row['second_half'][1]:.2f}) |")
    print()
    for rule in rules:
        if gaps[rule]:
            print(f"{rule}: gap to the best epoch, mean {sum(gaps[rule]) / len(gaps[rule]):.2f}, worst {max(gaps[rule]):.2f} "
                  f"over {len(gaps[rule])} runs")


if __name__ == "__main__":
    main(sys.argv[1:])
