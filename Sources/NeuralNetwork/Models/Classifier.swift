import TensorEngine

/// An image classifier as the distillation methods need it: logits, the penultimate features
/// they are computed from, and the batch-norm layers whose statistics BN-statistics losses read.
public protocol Classifier: Layer {
    /// The penultimate features (N x F), before the last linear layer.
    func features(_ x: Tensor) -> Tensor
    /// The last linear layer: logits from features.
    func logits(fromFeatures features: Tensor) -> Tensor
}

extension Classifier {
    /// Every batch-norm layer, in forward order.
    public var batchNorms: [BatchNorm2d] { namedModules().compactMap { $0.1 as? BatchNorm2d } }
}
