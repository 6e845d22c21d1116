"""PyTorch definitions of DataFreeKD's model zoo whose state dicts match dfkd's model files
key for key, so a model exported by `dfkd export` loads with `load_state_dict(strict=True)`
and a teacher trained in PyTorch imports with `dfkd import`.

    import torch, dfkd_models
    model = dfkd_models.make("lenet5-half", in_channels=1, classes=10)
    model.load_state_dict(torch.load("student.pth", weights_only=True), strict=True)

Inputs are normalised as the model file records (its normalisation mean and std).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    """LeNet-5 for 32 x 32 inputs (DAFL's); `half` gives LeNet-5-half."""

    def __init__(self, in_channels=1, classes=10, half=False):
        super().__init__()
        c1, c2, c3, f1 = (3, 8, 60, 42) if half else (6, 16, 120, 84)
        self.conv1 = nn.Conv2d(in_channels, c1, 5)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.conv3 = nn.Conv2d(c2, c3, 5)
        self.fc1 = nn.Linear(c3, f1)
        self.fc2 = nn.Linear(f1, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(F.relu(self.conv3(x)), 1)))
        return self.fc2(x)


class WideResNetBlock(nn.Module):
    """Pre-activation block; with a width change the shortcut reads the activated input."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inputs)
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.convShortcut = None if inputs == outputs else nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False)

    def forward(self, x):
        activated = F.relu(self.bn1(x))
        residual = self.conv2(F.relu(self.bn2(self.conv1(activated))))
        return (x if self.convShortcut is None else self.convShortcut(activated)) + residual


class WideResNetGroup(nn.Module):
    def __init__(self, blocks, inputs, outputs, stride):
        super().__init__()
        self.layer = nn.Sequential(*[WideResNetBlock(inputs if i == 0 else outputs, outputs, stride if i == 0 else 1) for i in range(blocks)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    """Wide ResNet in the layout of the data-free distillation reference code."""

    def __init__(self, depth, widen, in_channels=3, classes=10):
        super().__init__()
        blocks = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.block1 = WideResNetGroup(blocks, widths[0], widths[1], 1)
        self.block2 = WideResNetGroup(blocks, widths[1], widths[2], 2)
        self.block3 = WideResNetGroup(blocks, widths[2], widths[3], 2)
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.fc = nn.Linear(widths[3], classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.block3(self.block2(self.block1(self.conv1(x))))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


ARCHITECTURES = {
    "lenet5": lambda c, k: LeNet5(c, k),
    "lenet5-half": lambda c, k: LeNet5(c, k, half=True),
    "wrn-16-1": lambda c, k: WideResNet(16, 1, c, k),
    "wrn-16-2": lambda c, k: WideResNet(16, 2, c, k),
    "wrn-40-1": lambda c, k: WideResNet(40, 1, c, k),
    "wrn-40-2": lambda c, k: WideResNet(40, 2, c, k),
}


def make(architecture, in_channels, classes):
    """The architecture by its dfkd name (`dfkd train-teacher --model NAME`)."""
    return ARCHITECTURES[architecture](in_channels, classes)
