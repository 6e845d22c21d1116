/// Ops defined outside the engine (collectives over ranks, for one), as PyTorch's
/// autograd.Function: values in, values out, and the rule for the gradient.
extension Tensor {
    /// A differentiable op of one input. `forward` maps the input's elements (row-major) to
    /// the output's, of shape `outputShape`; `backward` maps the output's gradient to the
    /// input's (as many elements as the input). Both see plain row-major values.
    public func customOp(_ name: String, outputShape: [Int], forward: ([Float]) -> [Float],
                         backward: @escaping ([Float]) -> [Float]) -> Tensor {
        let outputValues = forward(toArray())
        precondition(outputValues.count == outputShape.reduce(1, *),
                     "'\(name)' produced \(outputValues.count) values for shape \(outputShape)")
        let result = Tensor(shape: outputShape, values: outputValues)
        let inputShape = shape
        record(name, inputs: [self], outputs: [result]) { grads in
            guard let g = grads[0] else { return [nil] }
            let inputGradient = backward(g.toArray())
            precondition(inputGradient.count == inputShape.reduce(1, *),
                         "'\(name)' backward produced \(inputGradient.count) values for shape \(inputShape)")
            return [Tensor(shape: inputShape, values: inputGradient)]
        }
        return result
    }
}
