/// Visits every index of `shape` in row-major order and passes the matching offsets into two
/// tensors described by `stridesA` and `stridesB` (a zero stride repeats along an axis: that
/// is how broadcasting and reductions address their smaller operand).
@inline(__always)
func walk(_ shape: [Int], _ stridesA: [Int], _ stridesB: [Int], _ body: (Int, Int) -> Void) {
    let rank = shape.count
    if rank == 0 { body(0, 0); return }
    if shape.contains(0) { return }
    let inner = shape[rank - 1], innerA = stridesA[rank - 1], innerB = stridesB[rank - 1]
    var index = [Int](repeating: 0, count: rank)
    var baseA = 0, baseB = 0
    while true {
        var a = baseA, b = baseB
        for _ in 0..<inner {
            body(a, b)
            a += innerA
            b += innerB
        }
        // Advance the outer axes like an odometer.
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            baseA += stridesA[axis]
            baseB += stridesB[axis]
            if index[axis] < shape[axis] { break }
            baseA -= stridesA[axis] * shape[axis]
            baseB -= stridesB[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
        if axis < 0 { return }
    }
}

enum Broadcast {
    /// The shape two operands broadcast to (NumPy rules), or nil if they do not.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard da == db || da == 1 || db == 1 else { return nil }
            out[i] = max(da, db)
        }
        return out
    }

    /// Strides that read a contiguous tensor of `shape` as if it had `target` shape.
    static func strides(of shape: [Int], broadcastTo target: [Int]) -> [Int] {
        let own = contiguousStrides(shape)
        let offset = target.count - shape.count
        return (0..<target.count).map { axis in
            guard axis >= offset else { return 0 }
            return shape[axis - offset] == 1 && target[axis] != 1 ? 0 : own[axis - offset]
        }
    }

    /// Sums `x` (of a broadcast shape) down to `shape`: the gradient of a broadcast.
    static func reduce(_ x: Tensor, to shape: [Int]) -> Tensor {
        if x.shape == shape { return x }
        let source = LayoutConversion.toPlain(x)
        let out = Tensor.zeros(shape)
        let o = out.pointer, s = source.pointer
        walk(source.shape, contiguousStrides(source.shape), strides(of: shape, broadcastTo: source.shape)) { i, j in
            o[j] += s[i]
        }
        return out
    }

    /// Repeats `x` along broadcast axes to `shape`.
    static func expand(_ x: Tensor, to shape: [Int]) -> Tensor {
        if x.shape == shape { return x }
        let source = LayoutConversion.toPlain(x)
        let out = Tensor(uninitializedShape: shape)
        let o = out.pointer, s = source.pointer
        walk(shape, contiguousStrides(shape), strides(of: source.shape, broadcastTo: shape)) { i, j in
            o[i] = s[j]
        }
        return out
    }
}
