#!/usr/bin/env python3
"""The workloads of `dfkd bench conv` and `dfkd bench train`, timed with PyTorch.

Runs only where torch is installed (pip's CPU wheel is enough). Timing follows dfkd's: one
untimed warm-up, then the median over --repeats of --iterations calls. With --json the last
line is one JSON object with the same keys dfkd prints. bench/compare.py runs both and
prints their ratios.
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def seconds_per_iteration(body, repeats, iterations):
    body()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            body()
        samples.append((time.perf_counter() - start) / iterations)
    return statistics.median(samples)


def peak_resident_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class LeNet5(nn.Module):
    """DAFL's LeNet-5 (and -half) for 32x32 inputs."""

    def __init__(self, classes=10, half=False):
        super().__init__()
        w = (3, 8, 60, 42) if half else (6, 16, 120, 84)
        self.conv1 = nn.Conv2d(1, w[0], 5)
        self.conv2 = nn.Conv2d(w[0], w[1], 5)
        self.conv3 = nn.Conv2d(w[1], w[2], 5)
        self.fc1 = nn.Linear(w[2], w[3])
        self.fc2 = nn.Linear(w[3], classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x)).flatten(1)
        return self.fc2(F.relu(self.fc1(x)))


class WideBlock(nn.Module):
    """CMI's pre-activation block; with a width change the shortcut reads the activated input."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inputs)
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.convShortcut = None if inputs == outputs else nn.Conv2d(inputs, outputs, 1, stride, 0, bias=False)

    def forward(self, x):
        activated = F.relu(self.bn1(x))
        residual = self.conv2(F.relu(self.bn2(self.conv1(activated))))
        return (x if self.convShortcut is None else self.convShortcut(activated)) + residual


class WideResNet(nn.Module):
    def __init__(self, depth, widen, classes=10):
        super().__init__()
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        groups = []
        for g, stride in enumerate((1, 2, 2)):
            groups.append(nn.Sequential(*[WideBlock(widths[g] if i == 0 else widths[g + 1], widths[g + 1],
                                                    stride if i == 0 else 1) for i in range(n)]))
        self.block1, self.block2, self.block3 = groups
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.fc = nn.Linear(widths[3], classes)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(F.relu(self.bn1(x)), 1).flatten(1))


MODELS = {
    "lenet5": (lambda: LeNet5(), (1, 32, 32)),
    "lenet5-half": (lambda: LeNet5(half=True), (1, 32, 32)),
    "wrn-16-1": (lambda: WideResNet(16, 1), (3, 32, 32)),
    "wrn-16-2": (lambda: WideResNet(16, 2), (3, 32, 32)),
    "wrn-40-2": (lambda: WideResNet(40, 2), (3, 32, 32)),
}


def bench_conv(args):
    k = args.kernel
    x = torch.rand(args.batch, args.input_channels, args.size, args.size) * 2 - 1
    weight = (torch.rand(args.output_channels, args.input_channels, k, k) - 0.5) * 0.2
    flops = 2.0 * args.batch * args.output_channels * args.size ** 2 * args.input_channels * k * k

    def forward():
        with torch.no_grad():
            F.conv2d(x, weight, padding=k // 2)

    xg, wg = x.clone().requires_grad_(), weight.clone().requires_grad_()

    def both():
        xg.grad = None
        wg.grad = None
        y = F.conv2d(xg, wg, padding=k // 2)
        y.backward(y.detach())

    fwd = seconds_per_iteration(forward, args.repeats, args.iterations)
    fb = seconds_per_iteration(both, args.repeats, args.iterations)
    result = {"forward_gflops": flops / fwd / 1e9, "gflops": 3 * flops / fb / 1e9, "threads": torch.get_num_threads()}
    print(f"pytorch conv {k}x{k} N={args.batch} {args.input_channels}->{args.output_channels} {args.size}x{args.size}: "
          f"forward {result['forward_gflops']:.1f} GFLOP/s, forward + backward {result['gflops']:.1f} GFLOP/s")
    return result


def bench_train(args):
    make, image = MODELS[args.model]
    torch.manual_seed(0)
    net = make()
    images = torch.rand(args.batch, *image) * 2 - 1
    labels = torch.arange(args.batch) % 10
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def step():
        optimizer.zero_grad(set_to_none=False)
        F.cross_entropy(net(images), labels).backward()
        optimizer.step()

    seconds = seconds_per_iteration(step, args.repeats, args.iterations)
    result = {"model": args.model, "batch": args.batch, "images_per_second": args.batch / seconds,
              "step_ms": seconds * 1000, "peak_rss_mib": peak_resident_mib(), "threads": torch.get_num_threads()}
    print(f"pytorch train {args.model} batch {args.batch}, {result['threads']} thread(s): "
          f"{result['images_per_second']:.1f} images/s ({result['step_ms']:.1f} ms per step), "
          f"peak RSS {result['peak_rss_mib']:.0f} MiB")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    sub = parser.add_subparsers(dest="workload", required=True)
    conv = sub.add_parser("conv")
    conv.add_argument("--batch", type=int, default=128)
    conv.add_argument("--input-channels", type=int, default=16)
    conv.add_argument("--output-channels", type=int, default=32)
    conv.add_argument("--size", type=int, default=32)
    conv.add_argument("--kernel", type=int, default=3)
    train = sub.add_parser("train")
    train.add_argument("--model", choices=sorted(MODELS), default="wrn-16-1")
    train.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    # Same thread count as dfkd: OMP_NUM_THREADS, else one.
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    result = bench_conv(args) if args.workload == "conv" else bench_train(args)
    if args.json:
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
