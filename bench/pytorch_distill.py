#!/usr/bin/env python3
"""The iteration of `dfkd bench distill`, timed with PyTorch DistributedDataParallel (gloo).

One CPSC-DFKD iteration: a generator step (conditional generator with class-indexed batch
norms, teacher WRN-16-2 and student WRN-16-1 forward and backward, KL + log-L2, cross
entropy, BN statistics and the contrastive term through a projector), then 5 student steps
on fresh generated batches. The global batch is divided over --ranks processes, each with
--threads threads; gradients are averaged by DDP. Images per second count, as dfkd does,
(1 + 5) x global batch images per iteration.

PyTorch's SyncBatchNorm runs on GPUs only, so here batch norms and the contrastive term see
each rank's share alone: less communication than dfkd does, so a lower bar to compare with.

    python3 bench/pytorch_distill.py --ranks 2 --threads 1 [--batch 128] [--json]
"""
import argparse
import json
import os
import resource
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from pytorch_reference import WideResNet

CLASSES, NOISE, STUDENT_STEPS = 10, 1000, 5


class CategoricalNorm(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Parameter(torch.ones(CLASSES, channels))
        self.beta = nn.Parameter(torch.zeros(CLASSES, channels))

    def forward(self, x, y):
        return self.norm(x) * self.gamma[y][:, :, None, None] + self.beta[y][:, :, None, None]


class Generator(nn.Module):
    def __init__(self, widths=(128, 128, 64)):
        super().__init__()
        self.widths = widths
        self.linear = nn.Linear(NOISE, widths[0] * 8 * 8)
        self.conv1 = nn.Conv2d(widths[0], widths[1], 3, 1, 1)
        self.conv2 = nn.Conv2d(widths[1], widths[2], 3, 1, 1)
        self.conv3 = nn.Conv2d(widths[2], 3, 3, 1, 1)
        self.norms = nn.ModuleList(CategoricalNorm(c) for c in (*widths, 3))

    def forward(self, z, y):
        x = self.linear(z).view(z.shape[0], self.widths[0], 8, 8)
        x = F.interpolate(self.norms[0](x, y), scale_factor=2)
        x = F.interpolate(F.leaky_relu(self.norms[1](self.conv1(x), y), 0.2), scale_factor=2)
        x = F.leaky_relu(self.norms[2](self.conv2(x), y), 0.2)
        return self.norms[3](torch.tanh(self.conv3(x)), y)


def features_and_logits(net, x):
    x = net.block3(net.block2(net.block1(net.conv1(x))))
    features = F.adaptive_avg_pool2d(F.relu(net.bn1(x)), 1).flatten(1)
    return features, net.fc(features)


def kd(t, s):
    return F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction="batchmean")


def log_l2(t, s):
    return torch.log(torch.norm(t - s) + 1e-12)


def contrastive(teacher_features, student_features, y, temperature=0.07):
    features = F.normalize(torch.cat([teacher_features, student_features]), dim=1)
    labels = torch.cat([y, y])
    similarity = features @ features.t() / temperature
    self_mask = torch.eye(len(labels), dtype=torch.bool)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    log_probability = similarity - torch.logsumexp(similarity.masked_fill(self_mask, -1e9), dim=1, keepdim=True)
    return -((log_probability * positives).sum(1) / positives.sum(1).clamp(min=1)).mean()


def worker(rank, args):
    torch.set_num_threads(args.threads)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(args.port))
    dist.init_process_group("gloo", rank=rank, world_size=args.ranks)
    torch.manual_seed(0)
    local = args.batch // args.ranks
    teacher = WideResNet(16, 2).eval().requires_grad_(False)
    student = WideResNet(16, 1)
    generator = DistributedDataParallel(Generator())
    projector = DistributedDataParallel(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128)))
    student_ddp = DistributedDataParallel(student)
    statistics_inputs = []
    for module in teacher.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.register_forward_hook(lambda m, inputs, _: statistics_inputs.append((m, inputs[0])))
    generator_optimizer = torch.optim.Adam(list(generator.parameters()) + list(projector.parameters()), 1e-3, betas=(0.5, 0.999))
    student_optimizer = torch.optim.SGD(student_ddp.parameters(), 0.1, momentum=0.9, weight_decay=5e-4)

    def draw():
        return torch.randn(local, NOISE), torch.randint(CLASSES, (local,))

    def iteration():
        z, y = draw()
        statistics_inputs.clear()
        student.requires_grad_(False)
        x = generator(z, y)
        teacher_features, t = features_and_logits(teacher, x)
        student_features, s = features_and_logits(student.train(), x)
        bns = sum(torch.norm(i.mean((0, 2, 3)) - m.running_mean) + torch.norm(i.var((0, 2, 3), unbiased=False) - m.running_var)
                  for m, i in statistics_inputs)
        loss = (-kd(t, s) - 5 * log_l2(t, s) + 0.7 * F.cross_entropy(t, y) + bns
                + 0.7 * contrastive(teacher_features, projector(student_features), y))
        generator_optimizer.zero_grad()
        loss.backward()
        generator_optimizer.step()
        student.requires_grad_(True)
        for _ in range(STUDENT_STEPS):
            z, y = draw()
            with torch.no_grad():
                x = generator(z, y)
                t = teacher(x)
            s = student_ddp(x)
            loss = kd(t, s) + 5 * log_l2(t, s) + 0.7 * F.cross_entropy(s, y)
            student_optimizer.zero_grad()
            loss.backward()
            student_optimizer.step()

    iteration()
    dist.barrier()
    samples = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.iterations):
            iteration()
        samples.append((time.perf_counter() - start) / args.iterations)
    figures = torch.tensor([[statistics.median(samples), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]])
    gathered = [torch.zeros_like(figures) for _ in range(args.ranks)]
    dist.all_gather(gathered, figures)
    if rank == 0:
        seconds = max(float(g[0, 0]) for g in gathered)
        memory = [float(g[0, 1]) for g in gathered]
        images = args.batch * (1 + STUDENT_STEPS)
        print(f"pytorch distill {args.ranks} rank(s) x {args.threads} thread(s), batch {args.batch}: "
              f"{images / seconds:.1f} images/s ({seconds * 1000:.0f} ms per iteration), peak RSS {'/'.join(f'{m:.0f}' for m in memory)} MiB")
        if args.json:
            print(json.dumps({"ranks": args.ranks, "threads": args.threads, "batch": args.batch, "images_per_second": images / seconds,
                              "iteration_ms": seconds * 1000, "peak_rss_mib": memory}, sort_keys=True))
    # Every rank past its last collective before any tears gloo down: once, a rank that got
    # there first aborted in gloo's teardown ("terminate called without an active exception").
    dist.barrier()
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--port", type=int, default=None,
                        help="the rendezvous port (default: one the system has free: runs back to back met a fixed one still taken)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    mp.start_processes(worker, args=(args,), nprocs=args.ranks, start_method="spawn")


if __name__ == "__main__":
    main()
