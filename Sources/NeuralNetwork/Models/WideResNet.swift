import Foundation
import TensorEngine

/// Wide ResNet (Zagoruyko and Komodakis) for 32 x 32 inputs with pre-activation blocks, in the
/// layout of the data-free distillation reference code: conv1, block1..3 (each `layer.i` of
/// bn1, conv1, bn2, conv2 and, where the width changes, convShortcut), bn1, fc.
public final class WideResNet: Layer, Classifier {
    public let conv1: Conv2d
    public let block1: WideResNetGroup, block2: WideResNetGroup, block3: WideResNetGroup
    public let bn1: BatchNorm2d
    public let fc: Linear

    public init(depth: Int, widen: Int, inputChannels: Int = 3, classes: Int = 10) {
        precondition((depth - 4) % 6 == 0, "Wide ResNet depth must be 6n + 4, got \(depth)")
        let blocks = (depth - 4) / 6
        let widths = [16, 16 * widen, 32 * widen, 64 * widen]
        conv1 = Conv2d(inputChannels, widths[0], kernel: 3, padding: 1, bias: false)
        block1 = WideResNetGroup(blocks: blocks, from: widths[0], to: widths[1], stride: 1)
        block2 = WideResNetGroup(blocks: blocks, from: widths[1], to: widths[2], stride: 2)
        block3 = WideResNetGroup(blocks: blocks, from: widths[2], to: widths[3], stride: 2)
        bn1 = BatchNorm2d(widths[3])
        fc = Linear(widths[3], classes)
    }

    public override var children: [(String, Module)] {
        [("conv1", conv1), ("block1", block1), ("block2", block2), ("block3", block3), ("bn1", bn1), ("fc", fc)]
    }

    /// Convolutions: He normal over fan-out; the classifier's bias: zero (the reference code's).
    public override func didInitialize(_ generator: ParameterGenerator) {
        for (path, module) in namedModules() {
            guard let conv = module as? Conv2d else { continue }
            let fullPath = generator.modulePath.isEmpty ? path : generator.modulePath + "." + path
            ParameterGenerator(seed: generator.seed, modulePath: fullPath)
                .normal(conv.weight, name: "weight", std: (2 / Float(conv.fanOut)).squareRoot())
        }
        if let bias = fc.bias { generator.fill(bias, 0) }
    }

    public func features(_ x: Tensor) -> Tensor {
        let trunk = block3(block2(block1(conv1(x))))
        return bn1(trunk, rectified: true).globalAveragePooled()
    }

    public func logits(fromFeatures features: Tensor) -> Tensor { fc(features) }
    public override func forward(_ x: Tensor) -> Tensor { fc(features(x)) }
}

public final class WideResNetGroup: Layer {
    public let layer: Sequential

    init(blocks: Int, from: Int, to: Int, stride: Int) {
        layer = Sequential((0..<blocks).map { i in
            WideResNetBlock(from: i == 0 ? from : to, to: to, stride: i == 0 ? stride : 1)
        })
    }

    public override var children: [(String, Module)] { [("layer", layer)] }
    public override func forward(_ x: Tensor) -> Tensor { layer(x) }
}

public final class WideResNetBlock: Layer {
    public let bn1: BatchNorm2d, conv1: Conv2d, bn2: BatchNorm2d, conv2: Conv2d
    public let convShortcut: Conv2d?

    init(from: Int, to: Int, stride: Int) {
        bn1 = BatchNorm2d(from)
        conv1 = Conv2d(from, to, kernel: 3, stride: stride, padding: 1, bias: false)
        bn2 = BatchNorm2d(to)
        conv2 = Conv2d(to, to, kernel: 3, padding: 1, bias: false)
        convShortcut = from == to ? nil : Conv2d(from, to, kernel: 1, stride: stride, bias: false)
    }

    public override var children: [(String, Module)] {
        [("bn1", bn1), ("conv1", conv1), ("bn2", bn2), ("conv2", conv2)] + (convShortcut.map { [("convShortcut", $0)] } ?? [])
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let activated = bn1(x, rectified: true)
        // With a width change the shortcut reads the activated input, as in the reference.
        let shortcut = convShortcut.map { $0(activated) } ?? x
        return conv2(bn2(conv1(activated), rectified: true), adding: shortcut)
    }
}
