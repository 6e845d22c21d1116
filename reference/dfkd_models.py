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
    """LeNet-5 for 32 x 32 inputs (DAFL's); `half` gives LeNet-5-half; `batch_norm` a batch
    norm between each convolution (then without bias) and its ReLU."""

    def __init__(self, in_channels=1, classes=10, half=False, batch_norm=False):
        super().__init__()
        c1, c2, c3, f1 = (3, 8, 60, 42) if half else (6, 16, 120, 84)
        self.conv1 = nn.Conv2d(in_channels, c1, 5, bias=not batch_norm)
        self.conv2 = nn.Conv2d(c1, c2, 5, bias=not batch_norm)
        self.conv3 = nn.Conv2d(c2, c3, 5, bias=not batch_norm)
        if batch_norm:
            self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(c1), nn.BatchNorm2d(c2), nn.BatchNorm2d(c3)
        else:
            self.bn1 = self.bn2 = self.bn3 = nn.Identity()
        self.fc1 = nn.Linear(c3, f1)
        self.fc2 = nn.Linear(f1, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.fc1(torch.flatten(F.relu(self.bn3(self.conv3(x))), 1)))
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


class ResNetBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus the shortcut (1x1 conv and BN where the shape changes), ReLU."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = None
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x):
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(residual + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    """ResNet for 32 x 32 inputs (the CIFAR variant of the CMI reference): no max pool."""

    def __init__(self, blocks, in_channels=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        width = 64
        stages = []
        for count, outputs, stride in zip(blocks, (64, 128, 256, 512), (1, 2, 2, 2)):
            layers = []
            for i in range(count):
                layers.append(ResNetBlock(width, outputs, stride if i == 0 else 1))
                width = outputs
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(512, classes)

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(F.relu(self.bn1(self.conv1(x)))))))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class VGG(nn.Module):
    """VGG-11 with batch norm for 32 x 32 inputs: torchvision's `features.<i>`, then global
    average pool and one linear layer."""

    def __init__(self, in_channels=3, classes=10, configuration=(64, None, 128, None, 256, 256, None, 512, 512, None, 512, 512, None)):
        super().__init__()
        layers, width = [], in_channels
        for channels in configuration:
            if channels is None:
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(width, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]
                width = channels
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class InvertedResidual(nn.Module):
    """1x1 expand, 3x3 depthwise (the stride), 1x1 project; the residual is added at stride 1,
    through a 1x1 conv and BN where the channel count changes."""

    def __init__(self, inputs, outputs, expansion, stride):
        super().__init__()
        hidden = inputs * expansion
        self.stride = stride
        self.conv1 = nn.Conv2d(inputs, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.conv2 = nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False)
        self.bn2 = nn.BatchNorm2d(hidden)
        self.conv3 = nn.Conv2d(hidden, outputs, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(outputs)
        self.shortcut = None
        if stride == 1 and inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x):
        out = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))))
        if self.stride != 1:
            return out
        return out + (x if self.shortcut is None else self.shortcut(x))


class MobileNetV2(nn.Module):
    """MobileNetV2 for 32 x 32 inputs: a stride-1 stem, the second stage at stride 1."""

    STAGES = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, in_channels=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        blocks, width = [], 32
        for expansion, channels, count, stride in self.STAGES:
            for i in range(count):
                blocks.append(InvertedResidual(width, channels, expansion, stride if i == 0 else 1))
                width = channels
        self.layers = nn.Sequential(*blocks)
        self.conv2 = nn.Conv2d(width, 1280, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(1280)
        self.linear = nn.Linear(1280, classes)

    def forward(self, x):
        x = F.relu(self.bn2(self.conv2(self.layers(F.relu(self.bn1(self.conv1(x)))))))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class SignStraightThrough(torch.autograd.Function):
    """sign(x) forward; backward the gradient where |x| <= 1 (the derivative of clamp)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def binarized_weights(weight):
    """Each output channel's signs times the mean |W| of its weights; gradient as clamp(W, -1, 1)."""
    alpha = weight.abs().mean(dim=(1, 2, 3), keepdim=True).detach()
    clipped = weight.clamp(-1, 1)
    return (alpha * torch.sign(weight)).detach() - clipped.detach() + clipped


class BinaryUnit(nn.Module):
    """RSign, a binary 3x3 convolution, batch norm, a real-valued shortcut, RPReLU (ReActNet's unit)."""

    def __init__(self, inputs, outputs, stride, binary_weights):
        super().__init__()
        self.binary_weights = binary_weights
        self.input_shift = nn.Parameter(torch.zeros(1, inputs, 1, 1))
        self.conv = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(outputs)
        self.shortcut = None
        if stride != 1 or inputs != outputs:
            pool = [nn.AvgPool2d(stride)] if stride != 1 else []
            self.shortcut = nn.Sequential(*pool, nn.Conv2d(inputs, outputs, 1, bias=False), nn.BatchNorm2d(outputs))
        self.activation_shift = nn.Parameter(torch.zeros(1, outputs, 1, 1))
        self.slope = nn.Parameter(torch.full((1, outputs, 1, 1), 0.25))
        self.output_shift = nn.Parameter(torch.zeros(1, outputs, 1, 1))

    def forward(self, x):
        signs = SignStraightThrough.apply(x + self.input_shift)
        weight = binarized_weights(self.conv.weight) if self.binary_weights else self.conv.weight
        y = self.bn(F.conv2d(signs, weight, stride=self.conv.stride, padding=1))
        y = y + (x if self.shortcut is None else self.shortcut(x))
        shifted = y - self.activation_shift
        return F.relu(shifted) - self.slope * F.relu(-shifted) + self.output_shift


class BinaryBlock(nn.Module):
    def __init__(self, inputs, outputs, stride, binary_weights):
        super().__init__()
        self.unit1 = BinaryUnit(inputs, outputs, stride, binary_weights)
        self.unit2 = BinaryUnit(outputs, outputs, 1, binary_weights)

    def forward(self, x):
        return self.unit2(self.unit1(x))


class BinaryResNet(nn.Module):
    """ReActNet-style binary ResNet-18 (GIP's binarised student): real stem, shortcuts and linear layer."""

    def __init__(self, in_channels=3, classes=10, binary_weights=True, widths=(64, 128, 256, 512)):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        width = widths[0]
        stages = []
        for outputs, stride in zip(widths, (1, 2, 2, 2)):
            stages.append(nn.Sequential(BinaryBlock(width, outputs, stride, binary_weights), BinaryBlock(outputs, outputs, 1, binary_weights)))
            width = outputs
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(widths[3], classes)

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.bn1(self.conv1(x))))))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


ARCHITECTURES = {
    "lenet5": lambda c, k: LeNet5(c, k),
    "lenet5-half": lambda c, k: LeNet5(c, k, half=True),
    "lenet5-bn": lambda c, k: LeNet5(c, k, batch_norm=True),
    "lenet5-half-bn": lambda c, k: LeNet5(c, k, half=True, batch_norm=True),
    "wrn-16-1": lambda c, k: WideResNet(16, 1, c, k),
    "wrn-16-2": lambda c, k: WideResNet(16, 2, c, k),
    "wrn-40-1": lambda c, k: WideResNet(40, 1, c, k),
    "wrn-40-2": lambda c, k: WideResNet(40, 2, c, k),
    "resnet18": lambda c, k: ResNet([2, 2, 2, 2], c, k),
    "resnet34": lambda c, k: ResNet([3, 4, 6, 3], c, k),
    "vgg11-bn": lambda c, k: VGG(c, k),
    "mobilenetv2": lambda c, k: MobileNetV2(c, k),
    "binary-resnet18": lambda c, k: BinaryResNet(c, k, binary_weights=True),
    "binary-resnet18-real-weights": lambda c, k: BinaryResNet(c, k, binary_weights=False),
}


def make(architecture, in_channels, classes):
    """The architecture by its dfkd name (`dfkd train-teacher --model NAME`)."""
    return ARCHITECTURES[architecture](in_channels, classes)
