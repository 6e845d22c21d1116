/// Element-wise functions of two tensors. Equal shapes run in any layout (the right operand is
/// brought to the left one's); other shapes broadcast by NumPy's rules on plain tensors, and
/// the gradient of a broadcast operand is summed back to its shape.
extension Tensor {
    @inline(__always)
    private static func combine(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        if a.shape == b.shape {
            let right = b.layout == a.layout ? b : LayoutConversion.convert(b, to: a.layout)
            let out = Tensor(uninitializedShape: a.shape, layout: a.layout)
            let x = a.pointer, y = right.pointer, z = out.pointer
            for i in 0..<a.storageCount { z[i] = f(x[i], y[i]) }
            if f(0, 0) != 0 { out.zeroChannelPadding() }
            return out
        }
        guard let shape = Broadcast.shape(a.shape, b.shape) else {
            preconditionFailure("shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let left = LayoutConversion.toPlain(a), right = LayoutConversion.toPlain(b)
        let out = Tensor(uninitializedShape: shape)
        let x = left.pointer, y = right.pointer, z = out.pointer
        var i = 0
        walk(shape, Broadcast.strides(of: a.shape, broadcastTo: shape), Broadcast.strides(of: b.shape, broadcastTo: shape)) { ia, ib in
            z[i] = f(x[ia], y[ib])
            i += 1
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = a.shape == b.shape ? Arithmetic.sum(a, b) : combine(a, b, +)
        record("add", inputs: [a, b], outputs: [out]) { grads in
            guard let g = grads[0] else { return [nil, nil] }
            return [a.needsGradient ? Broadcast.reduce(g, to: a.shape) : nil,
                    b.needsGradient ? Broadcast.reduce(g, to: b.shape) : nil]
        }
        return out
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = combine(a, b, -)
        record("subtract", inputs: [a, b], outputs: [out]) { grads in
            guard let g = grads[0] else { return [nil, nil] }
            return [a.needsGradient ? Broadcast.reduce(g, to: a.shape) : nil,
                    b.needsGradient ? Broadcast.reduce(Elementwise.map(g) { -$0 }, to: b.shape) : nil]
        }
        return out
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = combine(a, b, *)
        let savedA = a.detached(), savedB = b.detached()
        record("multiply", inputs: [a, b], outputs: [out]) { grads in
            guard let g = grads[0] else { return [nil, nil] }
            return [a.needsGradient ? Broadcast.reduce(combine(g, savedB, *), to: a.shape) : nil,
                    b.needsGradient ? Broadcast.reduce(combine(g, savedA, *), to: b.shape) : nil]
        }
        return out
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = combine(a, b, /)
        let savedA = a.detached(), savedB = b.detached()
        record("divide", inputs: [a, b], outputs: [out]) { grads in
            guard let g = grads[0] else { return [nil, nil] }
            let gOverB = combine(g, savedB, /)
            return [a.needsGradient ? Broadcast.reduce(gOverB, to: a.shape) : nil,
                    b.needsGradient ? Broadcast.reduce(combine(combine(gOverB, savedA, *), savedB) { -$0 / $1 }, to: b.shape) : nil]
        }
        return out
    }
}
