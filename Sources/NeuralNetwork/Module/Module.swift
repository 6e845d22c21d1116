import TensorEngine

/// A node of a model's tree. Parameters, buffers and children are listed in a fixed order,
/// which fixes the order of the flat parameter block, of optimizer state and of checkpoints
/// on every rank. Names follow PyTorch's state_dict (`layer1.0.conv1.weight`).
open class Module {
    public private(set) var isTraining = true

    public init() {}

    /// Child modules by local name, in a fixed order.
    open var children: [(String, Module)] { [] }
    /// Trainable tensors by local name.
    open var localParameters: [(String, Tensor)] { [] }
    /// Non-trainable state by local name (running statistics, counters).
    open var localBuffers: [(String, StateBuffer)] { [] }

    /// Sets this module's parameters as PyTorch's constructor would, drawing from `generator`,
    /// which gives each parameter its own stream keyed by its dotted name.
    open func resetParameters(_ generator: ParameterGenerator) {}

    /// Called on the tree's root after every module's `resetParameters`, for models whose
    /// initialisation overrides their layers' defaults.
    open func didInitialize(_ generator: ParameterGenerator) {}

    /// Called when the mode changes, for modules that keep mode-dependent state.
    open func didChangeMode() {}

    // MARK: Tree walks

    /// Every parameter of the tree under its dotted name.
    public func namedParameters(prefix: String = "") -> [(String, Tensor)] {
        localParameters.map { (prefix + $0.0, $0.1) } + children.flatMap { $0.1.namedParameters(prefix: prefix + $0.0 + ".") }
    }

    public var parameters: [Tensor] { namedParameters().map(\.1) }

    /// Every buffer of the tree under its dotted name.
    public func namedBuffers(prefix: String = "") -> [(String, StateBuffer)] {
        localBuffers.map { (prefix + $0.0, $0.1) } + children.flatMap { $0.1.namedBuffers(prefix: prefix + $0.0 + ".") }
    }

    /// Every module of the tree (this one first) under its dotted path.
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        [(prefix, self)] + children.flatMap { name, child in
            child.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
    }

    /// Training mode (batch statistics in batch norm) or evaluation mode, for the whole tree.
    public func train(_ on: Bool = true) {
        for (_, module) in namedModules() where module.isTraining != on {
            module.isTraining = on
            module.didChangeMode()
        }
    }

    public func eval() { train(false) }

    /// Stops (or restarts) gradients into every parameter of the tree.
    public func freeze(_ frozen: Bool = true) {
        for parameter in parameters { parameter.requiresGrad = !frozen }
    }

    /// Re-initialises every parameter of the tree from `seed`: the same seed gives the same
    /// values on every machine and in every process, whatever the order of construction.
    @discardableResult
    public func initialize(seed: UInt64) -> Self {
        for (path, module) in namedModules() {
            module.resetParameters(ParameterGenerator(seed: seed, modulePath: path))
        }
        for (path, module) in namedModules().reversed() {
            module.didInitialize(ParameterGenerator(seed: seed, modulePath: path))
        }
        for (_, buffer) in namedBuffers() { buffer.reset() }
        return self
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

/// Non-trainable module state: a float tensor, or an integer counter (PyTorch's int64
/// `num_batches_tracked`).
public enum StateBuffer {
    case tensor(Tensor, initialValue: Float)
    case counter(Counter)

    func reset() {
        switch self {
        case .tensor(let t, let value): t.pointer.update(repeating: value, count: t.count)
        case .counter(let c): c.value = 0
        }
    }
}

public final class Counter {
    public var value: Int
    public init(_ value: Int = 0) { self.value = value }
}

/// Random streams for the parameters of one module: `generator(for: "weight")` is keyed by
/// the seed and the dotted name (`layer1.0.conv1.weight`).
public struct ParameterGenerator: Sendable {
    public let seed: UInt64
    public let modulePath: String

    public func generator(for parameter: String) -> Philox {
        Philox(seed: seed, name: modulePath.isEmpty ? parameter : modulePath + "." + parameter)
    }

    /// Fills `tensor` with U(-bound, bound).
    public func uniform(_ tensor: Tensor, name: String, bound: Float) {
        let values = generator(for: name).uniform(count: tensor.count)
        for i in 0..<tensor.count { tensor.pointer[i] = (2 * values[i] - 1) * bound }
    }

    /// Fills `tensor` with N(0, std).
    public func normal(_ tensor: Tensor, name: String, std: Float) {
        let values = generator(for: name).normal(count: tensor.count)
        for i in 0..<tensor.count { tensor.pointer[i] = values[i] * std }
    }

    public func fill(_ tensor: Tensor, _ value: Float) {
        tensor.pointer.update(repeating: value, count: tensor.count)
    }
}

/// A module with one input and one output.
open class Layer: Module {
    open func forward(_ x: Tensor) -> Tensor { fatalError("\(type(of: self)) must override forward(_:)") }
    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x) }
}

/// A trainable parameter: a zero-initialised tensor that requires gradients.
public func makeParameter(_ shape: [Int]) -> Tensor {
    let t = Tensor.zeros(shape)
    t.requiresGrad = true
    return t
}
