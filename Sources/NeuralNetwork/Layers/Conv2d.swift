import TensorEngine

/// 2-D convolution (PyTorch's nn.Conv2d), weight (out, in/groups, k, k). Default
/// initialisation as PyTorch's: kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)) for weight and bias.
public final class Conv2d: Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let geometry: ConvolutionGeometry

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: \(inChannels) -> \(outChannels) channels do not split into \(groups) groups")
        weight = makeParameter([outChannels, inChannels / groups, kernel, kernel])
        self.bias = bias ? makeParameter([outChannels]) : nil
        geometry = ConvolutionGeometry(stride: stride, padding: padding, groups: groups)
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public var fanIn: Int { weight.shape[1] * weight.shape[2] * weight.shape[3] }
    public var fanOut: Int { weight.shape[0] * weight.shape[2] * weight.shape[3] / geometry.groups }

    public override func resetParameters(_ generator: ParameterGenerator) {
        let bound = 1 / Float(fanIn).squareRoot()
        generator.uniform(weight, name: "weight", bound: bound)
        if let bias { generator.uniform(bias, name: "bias", bound: bound) }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: weight, bias: bias, geometry: geometry)
    }

    /// The convolution of x plus `residual`, summed as the output is written (see conv2d).
    public func callAsFunction(_ x: Tensor, adding residual: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: weight, bias: bias, geometry: geometry, adding: residual)
    }
}
