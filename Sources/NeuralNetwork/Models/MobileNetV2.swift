import TensorEngine

/// MobileNetV2 for 32 x 32 inputs: a stride-1 3x3 stem (32 channels), inverted residual
/// blocks (expansion, channels, count, stride) with the second stage at stride 1 instead of
/// 2, a 1x1 conv to 1280, global average pool, linear.
public final class MobileNetV2: Layer, Classifier {
    public let conv1: Conv2d, bn1: BatchNorm2d
    public let layers: Sequential
    public let conv2: Conv2d, bn2: BatchNorm2d
    public let linear: Linear

    static let stages: [(expansion: Int, channels: Int, count: Int, stride: Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    public init(inputChannels: Int = 3, classes: Int = 10) {
        conv1 = Conv2d(inputChannels, 32, kernel: 3, padding: 1, bias: false)
        bn1 = BatchNorm2d(32)
        var blocks: [Layer] = []
        var width = 32
        for stage in Self.stages {
            for i in 0..<stage.count {
                blocks.append(InvertedResidual(from: width, to: stage.channels, expansion: stage.expansion,
                                               stride: i == 0 ? stage.stride : 1))
                width = stage.channels
            }
        }
        layers = Sequential(blocks)
        conv2 = Conv2d(width, 1280, kernel: 1, bias: false)
        bn2 = BatchNorm2d(1280)
        linear = Linear(1280, classes)
    }

    public override var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("layers", layers), ("conv2", conv2), ("bn2", bn2), ("linear", linear)]
    }

    public func features(_ x: Tensor) -> Tensor {
        bn2(conv2(layers(bn1(conv1(x), rectified: true))), rectified: true).globalAveragePooled()
    }

    public func logits(fromFeatures features: Tensor) -> Tensor { linear(features) }
    public override func forward(_ x: Tensor) -> Tensor { linear(features(x)) }
}

/// 1x1 expand, 3x3 depthwise (the stride), 1x1 project; the residual is added at stride 1,
/// through a 1x1 conv and BN where the channel count changes.
public final class InvertedResidual: Layer {
    public let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d, conv3: Conv2d, bn3: BatchNorm2d
    public let shortcut: Sequential?
    let stride: Int

    init(from: Int, to: Int, expansion: Int, stride: Int) {
        let hidden = from * expansion
        self.stride = stride
        conv1 = Conv2d(from, hidden, kernel: 1, bias: false)
        bn1 = BatchNorm2d(hidden)
        conv2 = Conv2d(hidden, hidden, kernel: 3, stride: stride, padding: 1, groups: hidden, bias: false)
        bn2 = BatchNorm2d(hidden)
        conv3 = Conv2d(hidden, to, kernel: 1, bias: false)
        bn3 = BatchNorm2d(to)
        shortcut = stride == 1 && from != to ? Sequential(Conv2d(from, to, kernel: 1, bias: false), BatchNorm2d(to)) : nil
    }

    public override var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("conv3", conv3), ("bn3", bn3)]
            + (shortcut.map { [("shortcut", $0)] } ?? [])
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let out = bn3(conv3(bn2(conv2(bn1(conv1(x), rectified: true)), rectified: true)))
        guard stride == 1 else { return out }
        return out + (shortcut.map { $0(x) } ?? x)
    }
}
