/// One recorded op: the inputs that gradients flow into and the rule that maps the gradients
/// of its outputs to the gradients of those inputs.
final class Node {
    typealias Backward = (_ outputGradients: [Tensor?]) -> [Tensor?]

    let name: String
    private(set) var inputs: [Tensor]
    let outputCount: Int
    private var rule: Backward?

    init(name: String, inputs: [Tensor], outputCount: Int, rule: @escaping Backward) {
        self.name = name
        self.inputs = inputs
        self.outputCount = outputCount
        self.rule = rule
    }

    /// Runs the rule once and then drops it with everything it saved, so that memory is given
    /// back while backward proceeds.
    func runBackward(_ outputGradients: [Tensor?]) -> [Tensor?] {
        guard let rule else {
            preconditionFailure("backward through '\(name)' a second time: its saved tensors were freed by the first backward")
        }
        let gradients = rule(outputGradients)
        precondition(gradients.count == inputs.count, "'\(name)' returned \(gradients.count) gradients for \(inputs.count) inputs")
        self.rule = nil
        return gradients
    }

    func releaseInputs() { inputs = [] }
}

/// Records an op for backward when gradient mode is on and any input takes part in the graph.
/// `rule` receives the gradients of the outputs (nil where no gradient arrived) and returns
/// one gradient per input, nil where an input needs none (see `needsGradient`).
func record(_ name: String, inputs: [Tensor], outputs: [Tensor], rule: @escaping Node.Backward) {
    guard GradMode.enabled, inputs.contains(where: { $0.participatesInGradient }) else { return }
    let node = Node(name: name, inputs: inputs, outputCount: outputs.count, rule: rule)
    for (index, output) in outputs.enumerated() {
        output.origin = (node, index)
        output.requiresGrad = true
    }
}

extension Tensor {
    /// Whether an op's backward must compute this input's gradient.
    var needsGradient: Bool { participatesInGradient }
}
