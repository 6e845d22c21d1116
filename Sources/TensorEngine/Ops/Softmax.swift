import Foundation

/// Softmax and log-softmax along the last axis (classes), computed with the row maximum
/// subtracted so that large logits do not overflow.
extension Tensor {
    public func softmax() -> Tensor {
        let (rows, width) = rowsAndWidth()
        let x = LayoutConversion.toPlain(self)
        let out = Tensor(uninitializedShape: shape)
        for r in 0..<rows {
            let src = x.pointer + r * width, dst = out.pointer + r * width
            var top = -Float.infinity
            for j in 0..<width { top = max(top, src[j]) }
            var total: Float = 0
            for j in 0..<width { dst[j] = Foundation.exp(src[j] - top); total += dst[j] }
            let inverse = 1 / total
            for j in 0..<width { dst[j] *= inverse }
        }
        let y = out.detached()
        record("softmax", inputs: [self], outputs: [out]) { grads in
            guard let g = grads[0].map(LayoutConversion.toPlain) else { return [nil] }
            // dx = y * (dy - sum_j dy_j y_j)
            let dx = Tensor(uninitializedShape: y.shape)
            for r in 0..<rows {
                let yr = y.pointer + r * width, gr = g.pointer + r * width, d = dx.pointer + r * width
                var dot: Float = 0
                for j in 0..<width { dot += gr[j] * yr[j] }
                for j in 0..<width { d[j] = yr[j] * (gr[j] - dot) }
            }
            return [dx]
        }
        return out
    }

    public func logSoftmax() -> Tensor {
        let (rows, width) = rowsAndWidth()
        let x = LayoutConversion.toPlain(self)
        let out = Tensor(uninitializedShape: shape)
        for r in 0..<rows {
            let src = x.pointer + r * width, dst = out.pointer + r * width
            var top = -Float.infinity
            for j in 0..<width { top = max(top, src[j]) }
            var total: Float = 0
            for j in 0..<width { total += Foundation.exp(src[j] - top) }
            let shift = top + Foundation.log(total)
            for j in 0..<width { dst[j] = src[j] - shift }
        }
        let y = out.detached()
        record("log-softmax", inputs: [self], outputs: [out]) { grads in
            guard let g = grads[0].map(LayoutConversion.toPlain) else { return [nil] }
            // dx = dy - softmax(x) * sum_j dy_j
            let dx = Tensor(uninitializedShape: y.shape)
            for r in 0..<rows {
                let yr = y.pointer + r * width, gr = g.pointer + r * width, d = dx.pointer + r * width
                var total: Float = 0
                for j in 0..<width { total += gr[j] }
                for j in 0..<width { d[j] = gr[j] - Foundation.exp(yr[j]) * total }
            }
            return [dx]
        }
        return out
    }

    private func rowsAndWidth() -> (Int, Int) {
        precondition(rank >= 1, "softmax needs at least one axis")
        let width = shape[rank - 1]
        return (count / max(width, 1), width)
    }
}
