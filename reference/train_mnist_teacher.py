"""Trains a LeNet-5 teacher in PyTorch on the MNIST split dfkd uses (the first 8,000 images of
t10k train, the last 2,000 evaluate; 28 x 28 digits zero-padded to 32 x 32, normalised by
0.1307 / 0.3081) and saves its state dict: the README's "a teacher from PyTorch".

    python3 reference/train_mnist_teacher.py ../shared/data/mnist runs/torch/lenet5.pth
"""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import dfkd_models  # noqa: E402


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def split(directory):
    images = idx(os.path.join(directory, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    labels = idx(os.path.join(directory, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    x = (torch.from_numpy(np.pad(images, ((0, 0), (2, 2), (2, 2))))[:, None] - 0.1307) / 0.3081
    y = torch.from_numpy(labels)
    return (x[:8000], y[:8000]), (x[-2000:], y[-2000:])


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return 100.0 * (model(x).argmax(1) == y).float().mean().item()


def main(directory, out):
    torch.manual_seed(0)
    (x, y), (ex, ey) = split(directory)
    model = dfkd_models.make("lenet5", 1, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(15):
        model.train()
        order = torch.randperm(len(x))
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    torch.save(model.state_dict(), out)
    print(f"teacher: {accuracy(model, ex, ey):.2f}% top-1 on the 2,000 held-out digits (PyTorch), saved to {out}")


def evaluate(directory, path, architecture):
    """The top-1 of an exported state dict (dfkd export --to FILE.pth) on the held-out digits."""
    _, (ex, ey) = split(directory)
    model = dfkd_models.make(architecture, 1, 10)
    model.load_state_dict(torch.load(path, weights_only=True), strict=True)
    print(f"{architecture} from {path}: {accuracy(model, ex, ey):.2f}% top-1 on the 2,000 held-out digits (PyTorch)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "evaluate":
        evaluate(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main(sys.argv[1], sys.argv[2])
