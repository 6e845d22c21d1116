import TensorEngine

/// A ReActNet-style binary ResNet-18 for 32 x 32 inputs (GIP's binarised student,
/// "ReActNet-18"): the real-valued 3x3 stem and batch norm of the zoo's ResNet-18, four
/// stages of two blocks (64, 128, 256, 512 channels; stride 1, 2, 2, 2), each block two
/// binary units, then global average pool and a real-valued linear layer. The first and last
/// layers and every shortcut stay real-valued, as the paper describes.
///
/// `binaryWeights` off is the first stage of the two-stage training (binary activations,
/// real weights); on, the second and the deployed network (weights binarised too). Both have
/// the same parameters, so the second stage starts from the first's model file.
public final class BinaryResNet: Layer, Classifier {
    public let binaryWeights: Bool
    public let conv1: Conv2d, bn1: BatchNorm2d
    public let layer1: Sequential, layer2: Sequential, layer3: Sequential, layer4: Sequential
    public let linear: Linear

    public init(widths: [Int] = [64, 128, 256, 512], inputChannels: Int = 3, classes: Int = 10, binaryWeights: Bool) {
        precondition(widths.count == 4, "a binary ResNet needs four stage widths, got \(widths)")
        self.binaryWeights = binaryWeights
        conv1 = Conv2d(inputChannels, widths[0], kernel: 3, padding: 1, bias: false)
        bn1 = BatchNorm2d(widths[0])
        var width = widths[0]
        func stage(_ outputs: Int, _ stride: Int) -> Sequential {
            let blocks = (0..<2).map { i -> Layer in
                defer { width = outputs }
                return BinaryBlock(from: width, to: outputs, stride: i == 0 ? stride : 1, binaryWeights: binaryWeights)
            }
            return Sequential(blocks)
        }
        layer1 = stage(widths[0], 1)
        layer2 = stage(widths[1], 2)
        layer3 = stage(widths[2], 2)
        layer4 = stage(widths[3], 2)
        linear = Linear(widths[3], classes)
    }

    public override var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("layer1", layer1), ("layer2", layer2), ("layer3", layer3),
         ("layer4", layer4), ("linear", linear)]
    }

    public func features(_ x: Tensor) -> Tensor {
        layer4(layer3(layer2(layer1(bn1(conv1(x)))))).globalAveragePooled()
    }

    public func logits(fromFeatures features: Tensor) -> Tensor { linear(features) }
    public override func forward(_ x: Tensor) -> Tensor { linear(features(x)) }
}

/// Two binary units; the first may change the width and the resolution.
public final class BinaryBlock: Layer {
    public let unit1: BinaryUnit, unit2: BinaryUnit

    init(from: Int, to: Int, stride: Int, binaryWeights: Bool) {
        unit1 = BinaryUnit(from: from, to: to, stride: stride, binaryWeights: binaryWeights)
        unit2 = BinaryUnit(from: to, to: to, stride: 1, binaryWeights: binaryWeights)
    }

    public override var children: [(String, Module)] { [("unit1", unit1), ("unit2", unit2)] }
    public override func forward(_ x: Tensor) -> Tensor { unit2(unit1(x)) }
}

/// One binary 3x3 convolution with its own real-valued shortcut (ReActNet's basic unit):
/// RSign (sign of x plus a learnt per-channel shift, straight-through gradient), the 3x3
/// convolution (weights alpha_o sign(W_o) when binarised), batch norm, plus the shortcut
/// (identity, or 2x2 average pool, 1x1 convolution and batch norm where the shape changes),
/// then RPReLU (a PReLU between two learnt per-channel shifts).
public final class BinaryUnit: Layer {
    public let binaryWeights: Bool
    /// RSign's shift, 1 x C x 1 x 1.
    public let inputShift: Tensor
    public let conv: Conv2d, bn: BatchNorm2d
    public let shortcut: Sequential?
    /// RPReLU: out = PReLU(y - shift, slope) + outputShift, each 1 x C x 1 x 1.
    public let activationShift: Tensor, slope: Tensor, outputShift: Tensor

    init(from: Int, to: Int, stride: Int, binaryWeights: Bool) {
        self.binaryWeights = binaryWeights
        inputShift = makeParameter([1, from, 1, 1])
        conv = Conv2d(from, to, kernel: 3, stride: stride, padding: 1, bias: false)
        bn = BatchNorm2d(to)
        if stride == 1 && from == to {
            shortcut = nil
        } else {
            let projection: [Layer] = [Conv2d(from, to, kernel: 1, bias: false), BatchNorm2d(to)]
            shortcut = Sequential((stride == 1 ? [] : [AvgPool2d(kernel: stride)]) + projection)
        }
        activationShift = makeParameter([1, to, 1, 1])
        slope = makeParameter([1, to, 1, 1])
        outputShift = makeParameter([1, to, 1, 1])
    }

    public override var children: [(String, Module)] {
        [("conv", conv), ("bn", bn)] + (shortcut.map { [("shortcut", $0)] } ?? [])
    }

    public override var localParameters: [(String, Tensor)] {
        [("input_shift", inputShift), ("activation_shift", activationShift), ("slope", slope), ("output_shift", outputShift)]
    }

    /// Shifts start at 0 and the PReLU slope at PyTorch's 0.25.
    public override func resetParameters(_ generator: ParameterGenerator) {
        generator.fill(inputShift, 0)
        generator.fill(activationShift, 0)
        generator.fill(slope, 0.25)
        generator.fill(outputShift, 0)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let signs = (x + inputShift).signStraightThrough()
        let weight = binaryWeights ? conv.weight.binarizedWeights() : conv.weight
        let y = bn(Tensor.conv2d(signs, weight: weight, geometry: conv.geometry)) + (shortcut.map { $0(x) } ?? x)
        let shifted = y - activationShift
        return shifted.relu() - slope * (-shifted).relu() + outputShift
    }
}
