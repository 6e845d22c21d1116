import NeuralNetwork
import TensorEngine

/// Categorical feature embedding (CPSC-DFKD's Eq. 4): batch normalisation without affine
/// parameters, then a per-sample scale and shift chosen by the sample's class,
/// gamma[y] * xhat + beta[y] (gamma, beta: K x C, initialised to 1 and 0).
public final class CategoricalFeatureEmbedding: Module {
    public let norm: BatchNorm2d
    public let gamma: Tensor, beta: Tensor

    public init(channels: Int, classes: Int, epsilon: Float = 1e-5) {
        norm = BatchNorm2d(channels, epsilon: epsilon, affine: false)
        gamma = makeParameter([classes, channels])
        beta = makeParameter([classes, channels])
    }

    public override var children: [(String, Module)] { [("norm", norm)] }
    public override var localParameters: [(String, Tensor)] { [("gamma", gamma), ("beta", beta)] }

    public override func resetParameters(_ generator: ParameterGenerator) {
        generator.fill(gamma, 1)
        generator.fill(beta, 0)
    }

    public func callAsFunction(_ x: Tensor, labels: [Int]) -> Tensor {
        Tensor.classScaleShift(norm(x), labels: labels, scale: gamma, shift: beta)
    }
}

/// What the generator's last layer gives.
public enum GeneratorOutput: String, Sendable, CaseIterable {
    /// The output normalisation's values as they are (the published generators).
    case free
    /// Those values through tanh onto the range a real image's pixels have after the teacher's
    /// input normalisation (`Normalization.pixelRange`), known from the teacher alone: no pixel brighter than white or darker
    /// than black, so that no class can take the batch's whole variance with values a real image
    /// never has while the output normalisation leaves the other classes flat.
    case bounded
}

/// Where a conditional generator's normalisation layers are categorical (paper Table 5).
public enum EmbeddingPlacement: String, Sendable, CaseIterable {
    /// Every normalisation layer is a CFE: the CPSC-DFKD generator.
    case all
    /// The three inner layers are CFEs; the output normalisation is plain.
    case three
    /// Plain batch norm everywhere: the generator ignores the labels (DAFL's generator).
    case none
}

/// The generator of DAFL, GIP and (conditional) CPSC-DFKD: Linear(nz -> w0 (S/4)^2), norm,
/// upsample x2, conv3x3 w0->w1, norm, LeakyReLU(0.2), upsample x2, conv3x3 w1->w2, norm,
/// LeakyReLU(0.2), conv3x3 w2->C, tanh, output norm (without affine when plain). The
/// published widths are 128/128/64; CPU budgets may narrow them.
public final class Generator: Layer {
    public struct Shape: Sendable, Equatable {
        public var noise: Int
        public var widths: [Int]
        public var imageSize: Int
        public var channels: Int
        public var classes: Int
        /// The epsilon of the two inner normalisation layers (DAFL's: 0.8).
        public var innerEpsilon: Float

        public init(noise: Int, widths: [Int] = [128, 128, 64], imageSize: Int = 32, channels: Int, classes: Int,
                    innerEpsilon: Float = 1e-5) {
            precondition(widths.count == 3 && imageSize % 4 == 0, "a generator needs 3 widths and an image size divisible by 4")
            self.noise = noise
            self.widths = widths
            self.imageSize = imageSize
            self.channels = channels
            self.classes = classes
            self.innerEpsilon = innerEpsilon
        }
    }

    public let shape: Shape
    public let placement: EmbeddingPlacement
    public let linear: Linear
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d
    /// The four normalisation layers, each a CFE or a batch norm.
    public let norms: [Module]

    public init(shape: Shape, placement: EmbeddingPlacement) {
        self.shape = shape
        self.placement = placement
        let side = shape.imageSize / 4
        let w = shape.widths
        linear = Linear(shape.noise, w[0] * side * side)
        conv1 = Conv2d(w[0], w[1], kernel: 3, padding: 1)
        conv2 = Conv2d(w[1], w[2], kernel: 3, padding: 1)
        conv3 = Conv2d(w[2], shape.channels, kernel: 3, padding: 1)
        let channels = [w[0], w[1], w[2], shape.channels]
        norms = channels.enumerated().map { index, c -> Module in
            let categorical = placement == .all || (placement == .three && index < 3)
            let epsilon: Float = index == 1 || index == 2 ? shape.innerEpsilon : 1e-5
            if categorical { return CategoricalFeatureEmbedding(channels: c, classes: shape.classes, epsilon: epsilon) }
            return BatchNorm2d(c, epsilon: epsilon, affine: index < 3)
        }
    }

    public var isConditional: Bool { placement != .none }

    /// With `GeneratorOutput.bounded`: the range of the teacher's normalised pixels that every
    /// channel's images are mapped onto (nil: the values as the output normalisation gives them).
    public var outputRange: ClosedRange<Float>?

    public override var children: [(String, Module)] {
        [("linear", linear), ("conv1", conv1), ("conv2", conv2), ("conv3", conv3)]
            + norms.enumerated().map { ("norm\($0.offset)", $0.element) }
    }

    /// Every batch norm inside, including those of the CFEs.
    public var batchNorms: [BatchNorm2d] { namedModules().compactMap { $0.1 as? BatchNorm2d } }

    private func normalise(_ index: Int, _ x: Tensor, labels: [Int]) -> Tensor {
        switch norms[index] {
        case let cfe as CategoricalFeatureEmbedding: cfe(x, labels: labels)
        case let bn as BatchNorm2d: bn(x)
        default: preconditionFailure("generator norm \(index) is neither CFE nor BN")
        }
    }

    /// Images (N x C x S x S, in [-1, 1] before the output norm) from noise (N x nz) and
    /// conditional labels (ignored by a generator without CFE).
    public func callAsFunction(_ z: Tensor, labels: [Int]) -> Tensor {
        let side = shape.imageSize / 4
        var x = linear(z).reshaped([z.shape[0], shape.widths[0], side, side])
        x = normalise(0, x, labels: labels).upsampledNearest2x()
        x = normalise(1, conv1(x), labels: labels).leakyRelu(slope: 0.2).upsampledNearest2x()
        x = normalise(2, conv2(x), labels: labels).leakyRelu(slope: 0.2)
        let output = normalise(3, conv3(x).tanh(), labels: labels)
        guard let range = outputRange else { return output }
        let half = (range.upperBound - range.lowerBound) / 2
        return output.tanh() * half + (range.lowerBound + half)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        preconditionFailure("a generator takes noise and labels: call generator(z, labels:)")
    }
}

extension Generator {
    /// Images drawn outside training (grids, probes): in the mode the student's samples come
    /// from (batch statistics), the running statistics left alone, on this rank alone (its
    /// batch is its own, whichever rank calls), without a gradient.
    public func drawAside(_ z: Tensor, labels: [Int]) -> Tensor {
        train()
        let held = batchNorms.map(\.updatesRunningStatistics)
        for layer in batchNorms { layer.updatesRunningStatistics = false }
        defer { for (layer, value) in zip(batchNorms, held) { layer.updatesRunningStatistics = value } }
        return RankLocalPass.run { withoutGradient { self(z, labels: labels) } }
    }
}
