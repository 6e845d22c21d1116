import TensorEngine

/// LeNet-5 for 32 x 32 inputs (DAFL's): conv5 C->6, ReLU, max pool 2, conv5 6->16, ReLU,
/// max pool 2, conv5 16->120, ReLU, FC 120->84, ReLU, FC 84->K. `half` gives LeNet-5-half
/// (3 / 8 / 60 channels, FC 60->42->K). `batchNorm` puts a batch norm between each
/// convolution and its ReLU (bn1..bn3): a teacher whose statistics the BN-statistics loss
/// can match.
public final class LeNet5: Layer, Classifier {
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d
    public let norms: [BatchNorm2d]
    public let fc1: Linear, fc2: Linear

    public init(inputChannels: Int = 1, classes: Int = 10, half: Bool = false, batchNorm: Bool = false) {
        let widths = half ? (3, 8, 60, 42) : (6, 16, 120, 84)
        conv1 = Conv2d(inputChannels, widths.0, kernel: 5, bias: !batchNorm)
        conv2 = Conv2d(widths.0, widths.1, kernel: 5, bias: !batchNorm)
        conv3 = Conv2d(widths.1, widths.2, kernel: 5, bias: !batchNorm)
        norms = batchNorm ? [widths.0, widths.1, widths.2].map { BatchNorm2d($0) } : []
        fc1 = Linear(widths.2, widths.3)
        fc2 = Linear(widths.3, classes)
    }

    public override var children: [(String, Module)] {
        let norms = self.norms.enumerated().map { ("bn\($0.offset + 1)", $0.element as Module) }
        return [("conv1", conv1), ("conv2", conv2), ("conv3", conv3)] + norms + [("fc1", fc1), ("fc2", fc2)]
    }

    private func normalized(_ x: Tensor, _ index: Int) -> Tensor { norms.isEmpty ? x : norms[index](x) }

    /// The 120 (or 60) features of conv3, as DAFL's lenet.py returns them (`out_feature`):
    /// its activation loss is taken on them.
    /// ReLU runs after the max pooling, on a quarter of the pixels: the two commute exactly
    /// (ReLU is monotone), in the output and in every gradient.
    public func features(_ x: Tensor) -> Tensor {
        let a = normalized(conv1(x), 0).maxPool2d(kernel: 2).relu()
        let b = normalized(conv2(a), 1).maxPool2d(kernel: 2).relu()
        return normalized(conv3(b), 2).relu().flattened()
    }

    public func logits(fromFeatures features: Tensor) -> Tensor { fc2(fc1(features).relu()) }
    public override func forward(_ x: Tensor) -> Tensor { logits(fromFeatures: features(x)) }
}
