/// Row-wise L2 normalisation of an N x D matrix: x / max(||x||, eps), as PyTorch's
/// F.normalize(dim=1).
extension Tensor {
    public func l2Normalized(epsilon: Float = 1e-12) -> Tensor {
        precondition(rank == 2, "l2Normalized needs an N x D matrix, got \(shape)")
        let (rows, width) = (shape[0], shape[1])
        let x = LayoutConversion.toPlain(self)
        let out = Tensor(uninitializedShape: shape)
        var norms = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let src = x.pointer + r * width, dst = out.pointer + r * width
            var total: Float = 0
            for j in 0..<width { total += src[j] * src[j] }
            norms[r] = max(total.squareRoot(), epsilon)
            let inverse = 1 / norms[r]
            for j in 0..<width { dst[j] = src[j] * inverse }
        }
        let y = out.detached()
        record("l2-normalize", inputs: [self], outputs: [out]) { grads in
            guard let g = grads[0].map(LayoutConversion.toPlain) else { return [nil] }
            let dx = Tensor(uninitializedShape: y.shape)
            for r in 0..<rows {
                let yr = y.pointer + r * width, gr = g.pointer + r * width, d = dx.pointer + r * width
                let inverse = 1 / norms[r]
                if norms[r] > epsilon {
                    var dot: Float = 0
                    for j in 0..<width { dot += yr[j] * gr[j] }
                    for j in 0..<width { d[j] = (gr[j] - yr[j] * dot) * inverse }
                } else {
                    // Below eps the denominator is the constant eps.
                    for j in 0..<width { d[j] = gr[j] * inverse }
                }
            }
            return [dx]
        }
        return out
    }
}
