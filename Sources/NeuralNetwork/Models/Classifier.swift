import TensorEngine

/// An image classifier as the distillation methods need it: logits, the features
/// they are computed from, and the batch-norm layers whose statistics BN-statistics losses read.
public protocol Classifier: Layer {
    /// The features (N x F) the activation and contrastive losses read: the input of the last
    /// linear layer, except LeNet-5's, whose are conv3's as DAFL defines them.
    func features(_ x: Tensor) -> Tensor
    /// The layers after the features: logits from features.
    func logits(fromFeatures features: Tensor) -> Tensor
}

extension Classifier {
    /// Every batch-norm layer, in forward order.
    public var batchNorms: [BatchNorm2d] { namedModules().compactMap { $0.1 as? BatchNorm2d } }
}
