import TensorEngine

/// LeNet-5 for 32 x 32 inputs (DAFL's): conv5 C->6, ReLU, max pool 2, conv5 6->16, ReLU,
/// max pool 2, conv5 16->120, ReLU, FC 120->84, ReLU, FC 84->K. `half` gives LeNet-5-half
/// (3 / 8 / 60 channels, FC 60->42->K).
public final class LeNet5: Layer, Classifier {
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d
    public let fc1: Linear, fc2: Linear

    public init(inputChannels: Int = 1, classes: Int = 10, half: Bool = false) {
        let widths = half ? (3, 8, 60, 42) : (6, 16, 120, 84)
        conv1 = Conv2d(inputChannels, widths.0, kernel: 5)
        conv2 = Conv2d(widths.0, widths.1, kernel: 5)
        conv3 = Conv2d(widths.1, widths.2, kernel: 5)
        fc1 = Linear(widths.2, widths.3)
        fc2 = Linear(widths.3, classes)
    }

    public override var children: [(String, Module)] {
        [("conv1", conv1), ("conv2", conv2), ("conv3", conv3), ("fc1", fc1), ("fc2", fc2)]
    }

    /// The 120 (or 60) features of conv3, as DAFL's lenet.py returns them (`out_feature`):
    /// its activation loss is taken on them.
    public func features(_ x: Tensor) -> Tensor {
        let a = conv1(x).relu().maxPool2d(kernel: 2)
        let b = conv2(a).relu().maxPool2d(kernel: 2)
        return conv3(b).relu().flattened()
    }

    public func logits(fromFeatures features: Tensor) -> Tensor { fc2(fc1(features).relu()) }
    public override func forward(_ x: Tensor) -> Tensor { logits(fromFeatures: features(x)) }
}
