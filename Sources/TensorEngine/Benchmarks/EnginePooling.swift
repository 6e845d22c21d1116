/// The engine's pooling kernels for one shape, executed bare on tensors' buffers as
/// OneDNNPooling executes oneDNN's: what `dfkd bench pool` times against it, without the
/// autodiff bookkeeping around the op.
public final class EnginePooling {
    private let kind: PoolingKind
    private let window: PoolingWindow
    private let positions: Storage?
    public let outputShape: [Int]

    public init(inputShape: [Int], kind: PoolingKind, kernel: Int, stride: Int, padding: Int) {
        self.kind = kind
        window = PoolingWindow(inputShape: inputShape, kernel: kernel, stride: stride, padding: padding)
        outputShape = [inputShape[0], inputShape[1], window.outputHeight, window.outputWidth]
        positions = kind == .max ? Storage(count: Layout.paddedChannels(inputShape[1], block: 16) * inputShape[0]
                                               * window.outputHeight * window.outputWidth) : nil
    }

    /// The pooled `x`; `into` receives it (in x's layout).
    public func forward(_ x: Tensor, into out: Tensor) {
        if let positions {
            PoolingKernels.maxForward(x, into: out, positions: positions, window: window)
        } else {
            PoolingKernels.averageForward(x, into: out, window: window)
        }
    }

    /// dx for the gradient `dy` of the last forward's output.
    public func backward(_ dy: Tensor, into dx: Tensor) {
        if let positions {
            PoolingKernels.maxBackward(dy, positions: positions, into: dx, window: window)
        } else {
            PoolingKernels.averageBackward(dy, into: dx, window: window)
        }
    }
}
