import TensorEngine

/// ResNet for 32 x 32 inputs (the CIFAR variant of the CMI reference): a 3x3 stem without
/// max pool, four stages of basic blocks (64, 128, 256, 512 channels; stride 1, 2, 2, 2),
/// global average pool, linear. ResNet-18 has 2-2-2-2 blocks, ResNet-34 3-4-6-3.
public final class ResNet: Layer, Classifier {
    public let conv1: Conv2d, bn1: BatchNorm2d
    public let layer1: Sequential, layer2: Sequential, layer3: Sequential, layer4: Sequential
    public let linear: Linear

    public init(blocks: [Int], inputChannels: Int = 3, classes: Int = 10) {
        precondition(blocks.count == 4, "ResNet needs four stages, got \(blocks)")
        conv1 = Conv2d(inputChannels, 64, kernel: 3, padding: 1, bias: false)
        bn1 = BatchNorm2d(64)
        var width = 64
        func stage(_ count: Int, _ outputs: Int, _ stride: Int) -> Sequential {
            let layers = (0..<count).map { i -> Layer in
                defer { width = outputs }
                return ResNetBlock(from: width, to: outputs, stride: i == 0 ? stride : 1)
            }
            return Sequential(layers)
        }
        layer1 = stage(blocks[0], 64, 1)
        layer2 = stage(blocks[1], 128, 2)
        layer3 = stage(blocks[2], 256, 2)
        layer4 = stage(blocks[3], 512, 2)
        linear = Linear(512, classes)
    }

    public static func resnet18(inputChannels: Int = 3, classes: Int = 10) -> ResNet {
        ResNet(blocks: [2, 2, 2, 2], inputChannels: inputChannels, classes: classes)
    }

    public static func resnet34(inputChannels: Int = 3, classes: Int = 10) -> ResNet {
        ResNet(blocks: [3, 4, 6, 3], inputChannels: inputChannels, classes: classes)
    }

    public override var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("layer1", layer1), ("layer2", layer2), ("layer3", layer3),
         ("layer4", layer4), ("linear", linear)]
    }

    public func features(_ x: Tensor) -> Tensor {
        layer4(layer3(layer2(layer1(bn1(conv1(x), rectified: true))))).globalAveragePooled()
    }

    public func logits(fromFeatures features: Tensor) -> Tensor { linear(features) }
    public override func forward(_ x: Tensor) -> Tensor { linear(features(x)) }
}

/// conv3x3-BN-ReLU-conv3x3-BN plus the shortcut (1x1 conv and BN where the shape changes), ReLU.
public final class ResNetBlock: Layer {
    public let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d
    public let shortcut: Sequential?

    init(from: Int, to: Int, stride: Int) {
        conv1 = Conv2d(from, to, kernel: 3, stride: stride, padding: 1, bias: false)
        bn1 = BatchNorm2d(to)
        conv2 = Conv2d(to, to, kernel: 3, padding: 1, bias: false)
        bn2 = BatchNorm2d(to)
        shortcut = stride == 1 && from == to ? nil
            : Sequential(Conv2d(from, to, kernel: 1, stride: stride, bias: false), BatchNorm2d(to))
    }

    public override var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)] + (shortcut.map { [("shortcut", $0)] } ?? [])
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let residual = bn2(conv2(bn1(conv1(x), rectified: true)))
        return (residual + (shortcut.map { $0(x) } ?? x)).relu()
    }
}
