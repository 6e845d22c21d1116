extension Tensor {
    /// Back-propagates from this scalar (or from `gradient`, of this tensor's shape) through
    /// every recorded op, adding into the `grad` of the leaves that require it. The graph is
    /// consumed: its saved tensors are freed as backward passes them.
    public func backward(gradient: Tensor? = nil) {
        let seed = gradient ?? Tensor.full(shape, 1)
        precondition(seed.shape == shape, "backward seed has shape \(seed.shape), tensor has \(shape)")
        guard let (root, rootOutput) = origin else {
            if requiresGrad { accumulateLeafGradient(seed) }
            return
        }
        var pending: [ObjectIdentifier: [Tensor?]] = [:]
        pending[ObjectIdentifier(root)] = Self.place(seed, at: rootOutput, of: root.outputCount, into: nil)

        for node in Self.reverseTopologicalOrder(from: root) {
            guard let outputGradients = pending.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            let inputGradients = node.runBackward(outputGradients)
            for (input, inputGradient) in zip(node.inputs, inputGradients) {
                guard let inputGradient else { continue }
                if let (producer, output) = input.origin {
                    let key = ObjectIdentifier(producer)
                    pending[key] = Self.place(inputGradient, at: output, of: producer.outputCount, into: pending[key])
                } else if input.requiresGrad {
                    input.accumulateLeafGradient(inputGradient)
                }
            }
            node.releaseInputs()
        }
    }

    private static func place(_ gradient: Tensor, at index: Int, of count: Int, into existing: [Tensor?]?) -> [Tensor?] {
        var slots = existing ?? [Tensor?](repeating: nil, count: count)
        slots[index] = slots[index].map { Arithmetic.sum($0, gradient) } ?? gradient
        return slots
    }

    /// Nodes ordered so that each comes before every node that feeds it.
    private static func reverseTopologicalOrder(from root: Node) -> [Node] {
        var visited = Set<ObjectIdentifier>()
        var postOrder: [Node] = []
        var stack: [(node: Node, nextInput: Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while !stack.isEmpty {
            let (node, nextInput) = stack[stack.count - 1]
            if nextInput < node.inputs.count {
                stack[stack.count - 1].nextInput += 1
                if let producer = node.inputs[nextInput].origin?.node,
                   visited.insert(ObjectIdentifier(producer)).inserted {
                    stack.append((producer, 0))
                }
            } else {
                postOrder.append(node)
                stack.removeLast()
            }
        }
        return postOrder.reversed()
    }

    func accumulateLeafGradient(_ gradient: Tensor) {
        let plainGradient = gradient.layout == .plain ? gradient : LayoutConversion.toPlain(gradient)
        precondition(plainGradient.shape == shape, "gradient of shape \(plainGradient.shape) for a leaf of shape \(shape)")
        receivedGradient = true
        if let sink = gradientSink {
            Arithmetic.addInPlace(sink, plainGradient)
        } else if let existing = grad {
            grad = Arithmetic.sum(existing, plainGradient)
        } else {
            // A gradient returned by an op may be shared with another input; copy before keeping.
            grad = Arithmetic.copy(plainGradient)
        }
    }

    /// Clears this leaf's gradient (zeroes a parameter's fixed gradient buffer).
    public func zeroGradient() {
        receivedGradient = false
        if let sink = gradientSink {
            sink.storage.buffer.update(repeating: 0)
        } else {
            grad = nil
        }
    }
}
