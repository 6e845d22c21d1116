import TensorEngine

public final class ReLU: Layer {
    public override init() {}
    public override func forward(_ x: Tensor) -> Tensor { x.relu() }
}

public final class LeakyReLU: Layer {
    public let slope: Float
    public init(slope: Float = 0.01) { self.slope = slope }
    public override func forward(_ x: Tensor) -> Tensor { x.leakyRelu(slope: slope) }
}

public final class Tanh: Layer {
    public override init() {}
    public override func forward(_ x: Tensor) -> Tensor { x.tanh() }
}

public final class Sigmoid: Layer {
    public override init() {}
    public override func forward(_ x: Tensor) -> Tensor { x.sigmoid() }
}

/// sign(x) with the straight-through gradient (binarised networks).
public final class SignStraightThrough: Layer {
    public override init() {}
    public override func forward(_ x: Tensor) -> Tensor { x.signStraightThrough() }
}

public final class Flatten: Layer {
    public override init() {}
    public override func forward(_ x: Tensor) -> Tensor { x.flattened() }
}

public final class MaxPool2d: Layer {
    public let kernel: Int, stride: Int, padding: Int
    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
    }
    public override func forward(_ x: Tensor) -> Tensor { x.maxPool2d(kernel: kernel, stride: stride, padding: padding) }
}

public final class AvgPool2d: Layer {
    public let kernel: Int, stride: Int, padding: Int
    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
    }
    public override func forward(_ x: Tensor) -> Tensor { x.avgPool2d(kernel: kernel, stride: stride, padding: padding) }
}

/// N x C x H x W -> N x C.
public final class GlobalAveragePool: Layer {
    public override init() {}
    public override func forward(_ x: Tensor) -> Tensor { x.globalAveragePooled() }
}

public final class UpsampleNearest2x: Layer {
    public override init() {}
    public override func forward(_ x: Tensor) -> Tensor { x.upsampledNearest2x() }
}

/// Layers applied in order; children are named "0", "1", ... as in PyTorch's nn.Sequential.
public final class Sequential: Layer {
    public let layers: [Layer]
    public init(_ layers: [Layer]) { self.layers = layers }
    public convenience init(_ layers: Layer...) { self.init(layers) }
    public override var children: [(String, Module)] { layers.enumerated().map { ("\($0.offset)", $0.element) } }
    public override func forward(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}
