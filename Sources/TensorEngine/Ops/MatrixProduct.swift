import CBLAS

/// Matrix products on OpenBLAS sgemm: plain row-major matrices.
enum GEMM {
    /// c = alpha * op(a) * op(b) + beta * c with a (m x k after op), b (k x n after op).
    static func multiply(_ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
                         into c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, beta: Float = 0) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n), beta, c, Int32(n))
    }
}

extension Tensor {
    /// The product of two matrices, each optionally transposed: op(a) (m x k) * op(b) (k x n).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul needs matrices, got \(a.shape) and \(b.shape)")
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (kb, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        precondition(k == kb, "matmul inner sizes differ: \(a.shape)\(transposeA ? "ᵀ" : "") x \(b.shape)\(transposeB ? "ᵀ" : "")")
        let left = LayoutConversion.toPlain(a).detached(), right = LayoutConversion.toPlain(b).detached()
        let out = Tensor(uninitializedShape: [m, n])
        GEMM.multiply(left.pointer, transposeA: transposeA, right.pointer, transposeB: transposeB, into: out.pointer, m: m, n: n, k: k)
        record("matmul", inputs: [a, b], outputs: [out]) { grads in
            guard let g = grads[0].map(LayoutConversion.toPlain) else { return [nil, nil] }
            var da: Tensor?, db: Tensor?
            if a.needsGradient {
                // d op(a) = g * op(b)^T; da is its transpose when a was transposed.
                let result = Tensor(uninitializedShape: a.shape)
                if transposeA {
                    GEMM.multiply(right.pointer, transposeA: transposeB, g.pointer, transposeB: true, into: result.pointer, m: k, n: m, k: n)
                } else {
                    GEMM.multiply(g.pointer, transposeA: false, right.pointer, transposeB: !transposeB, into: result.pointer, m: m, n: k, k: n)
                }
                da = result
            }
            if b.needsGradient {
                // d op(b) = op(a)^T * g; db is its transpose when b was transposed.
                let result = Tensor(uninitializedShape: b.shape)
                if transposeB {
                    GEMM.multiply(g.pointer, transposeA: true, left.pointer, transposeB: transposeA, into: result.pointer, m: n, n: k, k: m)
                } else {
                    GEMM.multiply(left.pointer, transposeA: !transposeA, g.pointer, transposeB: false, into: result.pointer, m: k, n: n, k: m)
                }
                db = result
            }
            return [da, db]
        }
        return out
    }

    /// x W^T + b for x (N x in), W (out x in), b (out): PyTorch's nn.Linear.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(x.rank == 2 && weight.rank == 2 && x.shape[1] == weight.shape[1],
                     "linear: input \(x.shape) does not match weight \(weight.shape)")
        let (batch, inFeatures, outFeatures) = (x.shape[0], x.shape[1], weight.shape[0])
        let input = LayoutConversion.toPlain(x).detached(), w = weight.detached()
        let out = Tensor(uninitializedShape: [batch, outFeatures])
        if let bias {
            precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) for \(outFeatures) outputs")
            for r in 0..<batch { (out.pointer + r * outFeatures).update(from: bias.pointer, count: outFeatures) }
        }
        GEMM.multiply(input.pointer, transposeA: false, w.pointer, transposeB: true, into: out.pointer,
                      m: batch, n: outFeatures, k: inFeatures, beta: bias == nil ? 0 : 1)
        let inputs = [x, weight] + (bias.map { [$0] } ?? [])
        record("linear", inputs: inputs, outputs: [out]) { grads in
            guard let g = grads[0].map(LayoutConversion.toPlain) else { return inputs.map { _ in nil } }
            var result: [Tensor?] = [nil, nil]
            if x.needsGradient {
                let dx = Tensor(uninitializedShape: [batch, inFeatures])
                GEMM.multiply(g.pointer, transposeA: false, w.pointer, transposeB: false, into: dx.pointer, m: batch, n: inFeatures, k: outFeatures)
                result[0] = dx
            }
            if weight.needsGradient {
                let dw = Tensor(uninitializedShape: weight.shape)
                GEMM.multiply(g.pointer, transposeA: true, input.pointer, transposeB: false, into: dw.pointer, m: outFeatures, n: inFeatures, k: batch)
                result[1] = dw
            }
            if let bias {
                result.append(bias.needsGradient ? columnSums(g) : nil)
            }
            return result
        }
        return out
    }

    /// Sums of a plain matrix's columns (the gradient of a broadcast bias).
    static func columnSums(_ g: Tensor) -> Tensor {
        let (rows, columns) = (g.shape[0], g.shape[1])
        let out = Tensor.zeros([columns])
        for r in 0..<rows {
            let row = g.pointer + r * columns
            for c in 0..<columns { out.pointer[c] += row[c] }
        }
        return out
    }
}
