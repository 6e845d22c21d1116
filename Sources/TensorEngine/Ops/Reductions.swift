/// Sums and means over axes of plain tensors.
extension Tensor {
    /// The sum over `axes` (all axes if nil); reduced axes are kept with size 1 if `keepDims`.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let reduced = normalizedAxes(axes)
        let keptShape = shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let finalShape = keepDims ? keptShape : shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
        let reducedKept = Broadcast.reduce(self, to: keptShape)
        let out = reducedKept === self ? Arithmetic.copy(LayoutConversion.toPlain(self)) : reducedKept
        let result = Tensor(shape: finalShape, storage: out.storage)
        let inputShape = shape
        record("sum", inputs: [self], outputs: [result]) { grads in
            guard let g = grads[0] else { return [nil] }
            let kept = Tensor(shape: keptShape, storage: LayoutConversion.toPlain(g).storage)
            return [Broadcast.expand(kept, to: inputShape)]
        }
        return result
    }

    /// The mean over `axes` (all axes if nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let reduced = normalizedAxes(axes)
        let elements = reduced.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims).scaled(by: 1 / Float(elements))
    }

    func normalizedAxes(_ axes: [Int]?) -> Set<Int> {
        guard let axes else { return Set(0..<rank) }
        return Set(axes.map { axis in
            let resolved = axis < 0 ? axis + rank : axis
            precondition(resolved >= 0 && resolved < rank, "axis \(axis) out of range for shape \(shape)")
            return resolved
        })
    }
}
