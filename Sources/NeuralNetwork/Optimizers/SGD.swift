import TensorEngine

/// Stochastic gradient descent as PyTorch's torch.optim.SGD: d = g + wd * p; with momentum
/// the buffer starts as the first d and then is mu * buf + (1 - dampening) * d; Nesterov
/// steps along d + mu * buf; p -= lr * step.
public final class SGD: Optimizer {
    public var momentum: Float
    public var dampening: Float
    public var weightDecay: Float
    public var nesterov: Bool

    public init(parameters: FlatParameters, learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum needs momentum > 0 and no dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        super.init(parameters: parameters, learningRate: learningRate)
    }

    public convenience init(module: Module, learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                            weightDecay: Float = 0, nesterov: Bool = false) {
        self.init(parameters: FlatParameters(module.namedParameters()), learningRate: learningRate, momentum: momentum,
                  dampening: dampening, weightDecay: weightDecay, nesterov: nesterov)
    }

    /// Offsets of the parameters that have a momentum buffer (PyTorch creates one at a
    /// parameter's first step, as a copy of d).
    private var parametersWithMomentum = Set<Int>()

    override func update(range: Range<Int>, values p: UnsafeMutablePointer<Float>, gradients g: UnsafeMutablePointer<Float>) {
        let (lr, mu, wd) = (learningRate, momentum, weightDecay)
        guard mu != 0 else {
            for i in range { p[i] -= lr * (g[i] + wd * p[i]) }
            return
        }
        let buf = buffer("momentum_buffer")
        let first = parametersWithMomentum.insert(range.lowerBound).inserted
        for i in range {
            let d = g[i] + wd * p[i]
            buf[i] = first ? d : mu * buf[i] + (1 - dampening) * d
            p[i] -= lr * (nesterov ? d + mu * buf[i] : buf[i])
        }
    }

    override class var bufferNames: [String] { ["momentum_buffer"] }
    override class var extraEntries: [String] { ["has_momentum"] }

    /// Also `has_momentum`: 1 for each parameter (in the block's order) whose momentum
    /// buffer has started.
    public override func archive(into archive: inout StateArchive, group: String) {
        super.archive(into: &archive, group: group)
        archive.add(group + "/has_momentum", .integers(parameters.entries.map { parametersWithMomentum.contains($0.offset) ? 1 : 0 }))
    }

    override func restoreExtra(from archive: StateArchive, group: String) throws {
        let flags = archive[group + "/has_momentum"] == nil ? [] : try archive.integers(group + "/has_momentum", count: parameters.entries.count)
        parametersWithMomentum = Set(zip(parameters.entries, flags).filter { $0.1 != 0 }.map(\.0.offset))
    }
}
