import TensorEngine

/// y = x W^T + b (PyTorch's nn.Linear), W (out, in). Default initialisation as PyTorch's:
/// W and b from U(-1/sqrt(in), 1/sqrt(in)).
public final class Linear: Layer {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = makeParameter([outFeatures, inFeatures])
        self.bias = bias ? makeParameter([outFeatures]) : nil
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public override func resetParameters(_ generator: ParameterGenerator) {
        let bound = 1 / Float(weight.shape[1]).squareRoot()
        generator.uniform(weight, name: "weight", bound: bound)
        if let bias { generator.uniform(bias, name: "bias", bound: bound) }
    }

    public override func forward(_ x: Tensor) -> Tensor { Tensor.linear(x, weight: weight, bias: bias) }
}

/// A table of K vectors of size D, looked up by index; initialised N(0, 1) as PyTorch's.
public final class Embedding: Module {
    public let weight: Tensor

    public init(_ count: Int, _ dimension: Int) {
        weight = makeParameter([count, dimension])
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight)] }

    public override func resetParameters(_ generator: ParameterGenerator) {
        generator.normal(weight, name: "weight", std: 1)
    }

    public func callAsFunction(_ indices: [Int]) -> Tensor { Tensor.embedding(indices, table: weight) }
}
