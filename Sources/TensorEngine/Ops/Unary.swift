import Foundation

/// Element-wise functions of one tensor. They work in any layout; those with f(0) != 0 re-zero
/// the channel padding of blocked tensors. Each saves what its derivative needs: the output
/// where the derivative is a function of it (so the input can be freed), else the input.
enum Elementwise {
    @inline(__always)
    static func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape, layout: x.layout)
        let count = x.storageCount
        let src = x.pointer, dst = out.pointer
        for i in 0..<count { dst[i] = f(src[i]) }
        if f(0) != 0 { out.zeroChannelPadding() }
        return out
    }

    /// dy * g(saved), element by element; `saved` has dy's shape.
    @inline(__always)
    static func chain(_ dy: Tensor, _ saved: Tensor, _ g: (Float, Float) -> Float) -> Tensor {
        let gradient = dy.layout == saved.layout ? dy : LayoutConversion.convert(dy, to: saved.layout)
        let out = Tensor(uninitializedShape: saved.shape, layout: saved.layout)
        let count = saved.storageCount
        let d = gradient.pointer, s = saved.pointer, o = out.pointer
        for i in 0..<count { o[i] = g(d[i], s[i]) }
        return out
    }
}

extension Tensor {
    @inline(__always)
    private func unary(_ name: String, savesOutput: Bool, _ f: (Float) -> Float,
                       derivative: @escaping (_ dy: Float, _ saved: Float) -> Float) -> Tensor {
        let out = Elementwise.map(self, f)
        let saved = savesOutput ? out.detached() : self.detached()
        record(name, inputs: [self], outputs: [out]) { grads in
            [grads[0].map { Elementwise.chain($0, saved, derivative) }]
        }
        return out
    }

    public func relu() -> Tensor {
        unary("relu", savesOutput: true, { max($0, 0) }) { dy, y in y > 0 ? dy : 0 }
    }

    /// max(x, 0) + slope * min(x, 0); the slope must be positive (the sign of the output then
    /// tells the sign of the input, so the output is what backward keeps).
    public func leakyRelu(slope: Float = 0.01) -> Tensor {
        precondition(slope > 0, "leakyRelu needs a positive slope")
        return unary("leaky-relu", savesOutput: true, { $0 > 0 ? $0 : $0 * slope }) { dy, y in y > 0 ? dy : dy * slope }
    }

    public func tanh() -> Tensor {
        unary("tanh", savesOutput: true, { Foundation.tanh($0) }) { dy, y in dy * (1 - y * y) }
    }

    public func sigmoid() -> Tensor {
        unary("sigmoid", savesOutput: true, { 1 / (1 + Foundation.exp(-$0)) }) { dy, y in dy * y * (1 - y) }
    }

    public func exp() -> Tensor {
        unary("exp", savesOutput: true, { Foundation.exp($0) }) { dy, y in dy * y }
    }

    public func log() -> Tensor {
        unary("log", savesOutput: false, { Foundation.log($0) }) { dy, x in dy / x }
    }

    public func sqrt() -> Tensor {
        unary("sqrt", savesOutput: true, { $0.squareRoot() }) { dy, y in dy / (2 * y) }
    }

    public func abs() -> Tensor {
        unary("abs", savesOutput: false, { Swift.abs($0) }) { dy, x in x > 0 ? dy : (x < 0 ? -dy : 0) }
    }

    public func squared() -> Tensor {
        unary("square", savesOutput: false, { $0 * $0 }) { dy, x in 2 * x * dy }
    }

    /// sign(x) forward (0 at 0, as torch.sign); backward passes the gradient straight through
    /// where |x| <= 1 and blocks it elsewhere: the derivative of clamp(x, -1, 1), the usual
    /// surrogate for binarised networks.
    public func signStraightThrough() -> Tensor {
        unary("sign-ste", savesOutput: false, { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }) { dy, x in Swift.abs(x) <= 1 ? dy : 0 }
    }

    public func scaled(by factor: Float) -> Tensor {
        let out = Elementwise.map(self) { $0 * factor }
        record("scale", inputs: [self], outputs: [out]) { grads in
            [grads[0].map { g in Elementwise.map(g) { $0 * factor } }]
        }
        return out
    }

    public func shifted(by offset: Float) -> Tensor {
        let out = Elementwise.map(self) { $0 + offset }
        record("shift", inputs: [self], outputs: [out]) { grads in [grads[0]] }
        return out
    }

    public static prefix func - (x: Tensor) -> Tensor { x.scaled(by: -1) }
    public static func * (x: Tensor, c: Float) -> Tensor { x.scaled(by: c) }
    public static func * (c: Float, x: Tensor) -> Tensor { x.scaled(by: c) }
    public static func / (x: Tensor, c: Float) -> Tensor { x.scaled(by: 1 / c) }
    public static func + (x: Tensor, c: Float) -> Tensor { x.shifted(by: c) }
    public static func + (c: Float, x: Tensor) -> Tensor { x.shifted(by: c) }
    public static func - (x: Tensor, c: Float) -> Tensor { x.shifted(by: -c) }
    public static func - (c: Float, x: Tensor) -> Tensor { (-x).shifted(by: c) }
}
