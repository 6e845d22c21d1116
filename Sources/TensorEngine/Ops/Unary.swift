import CEngineKernels
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

/// A differentiable scalar function. Ops are generic over it, so the compiler specialises
/// each loop for its function (a closure called per element costs several times the work).
protocol ElementwiseFunction {
    static var name: String { get }
    /// Whether backward reads the output (so the input can be freed) or the input.
    static var savesOutput: Bool { get }
    func value(_ x: Float) -> Float
    /// dy times the derivative, given the saved output or input.
    func gradient(_ dy: Float, _ saved: Float) -> Float
}

private struct TanhFunction: ElementwiseFunction {
    static let name = "tanh", savesOutput = true
    func value(_ x: Float) -> Float { Foundation.tanh(x) }
    func gradient(_ dy: Float, _ y: Float) -> Float { dy * (1 - y * y) }
}

private struct SigmoidFunction: ElementwiseFunction {
    static let name = "sigmoid", savesOutput = true
    func value(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }
    func gradient(_ dy: Float, _ y: Float) -> Float { dy * y * (1 - y) }
}

private struct ExpFunction: ElementwiseFunction {
    static let name = "exp", savesOutput = true
    func value(_ x: Float) -> Float { Foundation.exp(x) }
    func gradient(_ dy: Float, _ y: Float) -> Float { dy * y }
}

private struct LogFunction: ElementwiseFunction {
    static let name = "log", savesOutput = false
    func value(_ x: Float) -> Float { Foundation.log(x) }
    func gradient(_ dy: Float, _ x: Float) -> Float { dy / x }
}

private struct SqrtFunction: ElementwiseFunction {
    static let name = "sqrt", savesOutput = true
    func value(_ x: Float) -> Float { x.squareRoot() }
    func gradient(_ dy: Float, _ y: Float) -> Float { dy / (2 * y) }
}

private struct AbsFunction: ElementwiseFunction {
    static let name = "abs", savesOutput = false
    func value(_ x: Float) -> Float { Swift.abs(x) }
    func gradient(_ dy: Float, _ x: Float) -> Float { x > 0 ? dy : (x < 0 ? -dy : 0) }
}

private struct SquareFunction: ElementwiseFunction {
    static let name = "square", savesOutput = false
    func value(_ x: Float) -> Float { x * x }
    func gradient(_ dy: Float, _ x: Float) -> Float { 2 * x * dy }
}

/// sign(x) forward (0 at 0, as torch.sign); backward passes the gradient straight through
/// where |x| <= 1 and blocks it elsewhere: the derivative of clamp(x, -1, 1), the usual
/// surrogate for binarised networks.
private struct SignStraightThroughFunction: ElementwiseFunction {
    static let name = "sign-ste", savesOutput = false
    func value(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
    func gradient(_ dy: Float, _ x: Float) -> Float { Swift.abs(x) <= 1 ? dy : 0 }
}

extension Tensor {
    private func unary<F: ElementwiseFunction>(_ function: F) -> Tensor {
        let out = Elementwise.map(self, function.value)
        let saved = F.savesOutput ? out.detached() : self.detached()
        record(F.name, inputs: [self], outputs: [out]) { grads in
            [grads[0].map { Elementwise.chain($0, saved, function.gradient) }]
        }
        return out
    }

    /// A rectifier on the engine's C kernels (the widest vectors the CPU has). It saves its
    /// output, which is positive exactly where the input is, so the input can be freed.
    /// f(0) = 0 keeps the channel padding zero.
    private func rectifier(_ name: String, forward: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                           backward: @escaping (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let out = Tensor(uninitializedShape: shape, layout: layout)
        forward(pointer, out.pointer, storageCount)
        let saved = out.detached()
        record(name, inputs: [self], outputs: [out]) { grads in
            [grads[0].map { g in
                let dy = g.layout == saved.layout ? g : LayoutConversion.convert(g, to: saved.layout)
                let dx = Tensor(uninitializedShape: saved.shape, layout: saved.layout)
                backward(dy.pointer, saved.pointer, dx.pointer, saved.storageCount)
                return dx
            }]
        }
        return out
    }

    /// max(x, 0), a NaN staying NaN.
    public func relu() -> Tensor {
        rectifier("relu", forward: { dfkd_relu_forward($0, $1, $2) }, backward: { dfkd_relu_backward($0, $1, $2, $3) })
    }

    /// max(x, 0) + slope * min(x, 0); the slope must be positive.
    public func leakyRelu(slope: Float = 0.01) -> Tensor {
        precondition(slope > 0, "leakyRelu needs a positive slope")
        return rectifier("leaky-relu", forward: { dfkd_leaky_relu_forward($0, $1, $2, slope) },
                         backward: { dfkd_leaky_relu_backward($0, $1, $2, $3, slope) })
    }

    public func tanh() -> Tensor { unary(TanhFunction()) }
    public func sigmoid() -> Tensor { unary(SigmoidFunction()) }
    public func exp() -> Tensor { unary(ExpFunction()) }
    public func log() -> Tensor { unary(LogFunction()) }
    public func sqrt() -> Tensor { unary(SqrtFunction()) }
    public func abs() -> Tensor { unary(AbsFunction()) }
    public func squared() -> Tensor { unary(SquareFunction()) }

    /// sign(x) with the straight-through gradient dy * 1{|x| <= 1}.
    public func signStraightThrough() -> Tensor { unary(SignStraightThroughFunction()) }

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
