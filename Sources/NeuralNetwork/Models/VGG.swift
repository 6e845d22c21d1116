import TensorEngine

/// VGG-11 with batch norm for 32 x 32 inputs: eight 3x3 conv-BN-ReLU layers with five max
/// pools (64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M), then linear 512 -> K.
/// Children are `features.<i>` as in torchvision's VGG, and `classifier`.
public final class VGG: Layer, Classifier {
    public let featureLayers: Sequential
    public let classifier: Linear

    public init(configuration: [Int?] = VGG.vgg11, inputChannels: Int = 3, classes: Int = 10) {
        var layers: [Layer] = []
        var width = inputChannels
        for entry in configuration {
            if let channels = entry {
                layers += [Conv2d(width, channels, kernel: 3, padding: 1), BatchNorm2d(channels), ReLU()]
                width = channels
            } else {
                layers.append(MaxPool2d(kernel: 2))
            }
        }
        featureLayers = Sequential(layers)
        classifier = Linear(width, classes)
    }

    /// Channels of each conv layer; nil is a 2x2 max pool.
    public static let vgg11: [Int?] = [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil]

    public override var children: [(String, Module)] { [("features", featureLayers), ("classifier", classifier)] }

    public func features(_ x: Tensor) -> Tensor { featureLayers(x).globalAveragePooled() }
    public func logits(fromFeatures features: Tensor) -> Tensor { classifier(features) }
    public override func forward(_ x: Tensor) -> Tensor { classifier(features(x)) }
}
