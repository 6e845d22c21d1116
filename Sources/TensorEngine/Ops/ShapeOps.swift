/// Reshaping, flattening and concatenation. A plain tensor reshapes without copying; a
/// channel-blocked one is converted to plain first (this is the edge of a convolutional trunk).
extension Tensor {
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            resolved[inferred] = count / max(known, 1)
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        let source = plain()
        let out = Tensor(shape: resolved, storage: source.storage)
        let oldShape = shape
        record("reshape", inputs: [source], outputs: [out]) { grads in
            [grads[0].map { Tensor(shape: oldShape, storage: LayoutConversion.toPlain($0).storage) }]
        }
        return out
    }

    /// Keeps the first axis and flattens the rest (N x C x H x W -> N x CHW).
    public func flattened() -> Tensor {
        reshaped([shape[0], -1])
    }

    /// Concatenates along `axis`; all other axes must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate needs at least one tensor")
        let first = tensors[0]
        let axis = axis < 0 ? axis + first.rank : axis
        for t in tensors {
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == axis || t.shape[$0] == first.shape[$0] },
                         "cannot concatenate \(t.shape) with \(first.shape) along axis \(axis)")
        }
        var shape = first.shape
        shape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: shape)
        let outRow = shape[axis] * inner
        var offset = 0
        var sizes: [Int] = []
        for t in tensors {
            let source = LayoutConversion.toPlain(t)
            let chunk = t.shape[axis] * inner
            for o in 0..<outer {
                (out.pointer + o * outRow + offset).update(from: source.pointer + o * chunk, count: chunk)
            }
            offset += chunk
            sizes.append(t.shape[axis])
        }
        record("concatenate", inputs: tensors, outputs: [out]) { grads in
            guard let g = grads[0].map(LayoutConversion.toPlain) else { return tensors.map { _ in nil } }
            var start = 0
            return zip(tensors, sizes).map { t, size in
                defer { start += size }
                guard t.needsGradient else { return nil }
                var partShape = shape
                partShape[axis] = size
                let part = Tensor(uninitializedShape: partShape)
                let chunk = size * inner
                for o in 0..<outer {
                    part.pointer.advanced(by: o * chunk).update(from: g.pointer + o * outRow + start * inner, count: chunk)
                }
                return part
            }
        }
        return out
    }
}
