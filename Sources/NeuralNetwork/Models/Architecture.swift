/// The classifiers of the model zoo, by the names the command line and model files use.
public enum Architecture: String, CaseIterable, Sendable {
    case lenet5 = "lenet5"
    case lenet5Half = "lenet5-half"
    case lenet5BatchNorm = "lenet5-bn"
    case lenet5HalfBatchNorm = "lenet5-half-bn"
    case resnet18 = "resnet18"
    case resnet34 = "resnet34"
    case wrn16x1 = "wrn-16-1"
    case wrn16x2 = "wrn-16-2"
    case wrn40x1 = "wrn-40-1"
    case wrn40x2 = "wrn-40-2"
    case vgg11 = "vgg11-bn"
    case mobileNetV2 = "mobilenetv2"
    /// ReActNet-style binary ResNet-18: binary activations and weights.
    case binaryResNet18 = "binary-resnet18"
    /// The same network with real-valued weights: the first stage of its two-stage training.
    case binaryResNet18RealWeights = "binary-resnet18-real-weights"

    /// The architecture of `name`, or an error listing the known names.
    public init(named name: String) throws {
        guard let found = Architecture(rawValue: name.lowercased()) else {
            throw UnknownArchitecture(name: name)
        }
        self = found
    }

    /// A freshly constructed (not yet initialised) classifier.
    public func make(inputChannels: Int, classes: Int) -> any Classifier {
        switch self {
        case .lenet5: LeNet5(inputChannels: inputChannels, classes: classes)
        case .lenet5Half: LeNet5(inputChannels: inputChannels, classes: classes, half: true)
        case .lenet5BatchNorm: LeNet5(inputChannels: inputChannels, classes: classes, batchNorm: true)
        case .lenet5HalfBatchNorm: LeNet5(inputChannels: inputChannels, classes: classes, half: true, batchNorm: true)
        case .resnet18: ResNet.resnet18(inputChannels: inputChannels, classes: classes)
        case .resnet34: ResNet.resnet34(inputChannels: inputChannels, classes: classes)
        case .wrn16x1: WideResNet(depth: 16, widen: 1, inputChannels: inputChannels, classes: classes)
        case .wrn16x2: WideResNet(depth: 16, widen: 2, inputChannels: inputChannels, classes: classes)
        case .wrn40x1: WideResNet(depth: 40, widen: 1, inputChannels: inputChannels, classes: classes)
        case .wrn40x2: WideResNet(depth: 40, widen: 2, inputChannels: inputChannels, classes: classes)
        case .vgg11: VGG(inputChannels: inputChannels, classes: classes)
        case .mobileNetV2: MobileNetV2(inputChannels: inputChannels, classes: classes)
        case .binaryResNet18: BinaryResNet(inputChannels: inputChannels, classes: classes, binaryWeights: true)
        case .binaryResNet18RealWeights: BinaryResNet(inputChannels: inputChannels, classes: classes, binaryWeights: false)
        }
    }

    /// Whether the network has batch norms (the BN-statistics losses need them in a teacher).
    public var hasBatchNorm: Bool { self != .lenet5 && self != .lenet5Half }
}

public struct UnknownArchitecture: Error, CustomStringConvertible {
    public let name: String
    public var description: String {
        "unknown architecture '\(name)'; expected one of: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))"
    }
}
