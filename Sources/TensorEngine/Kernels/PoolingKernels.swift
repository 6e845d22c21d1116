import CEngineKernels

/// The geometry of square pooling windows over an input's height and width.
struct PoolingWindow {
    let kernel: Int, stride: Int, padding: Int
    let inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int

    init(inputShape: [Int], kernel: Int, stride: Int, padding: Int) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        inputHeight = inputShape[2]
        inputWidth = inputShape[3]
        outputHeight = (inputHeight + 2 * padding - kernel) / stride + 1
        outputWidth = (inputWidth + 2 * padding - kernel) / stride + 1
    }

    fileprivate var c: dfkd_pooling_window {
        dfkd_pooling_window(kernel: Int32(kernel), stride: Int32(stride), padding: Int32(padding),
                            input_height: Int32(inputHeight), input_width: Int32(inputWidth),
                            output_height: Int32(outputHeight), output_width: Int32(outputWidth))
    }
}

/// Max and average pooling in the tensor's own layout, on the engine's C kernels: each output
/// pixel reads whole lane vectors of its window, so a channel-blocked tensor pools 8 or 16
/// channels per instruction (AVX2 or AVX-512) and a plain one a channel at a time. They are
/// bound by memory: oneDNN 2.6's AVX2 pooling on the blocked layout took as long as LeNet-5's
/// backward-weights convolutions, and the same loops in Swift, limited to SSE, took three
/// times oneDNN's AVX-512 pooling.
enum PoolingKernels {
    /// Max pooling of `x` into `out` (same layout), writing into `positions`, per output
    /// lane, the window position (row * kernel + column, as a Float) that held the maximum:
    /// where the backward pass routes the gradient. Ties go to the first position in
    /// row-major window order and a NaN wins, as in PyTorch.
    static func maxForward(_ x: Tensor, into out: Tensor, positions: Storage, window: PoolingWindow) {
        let (planes, lanes) = planesAndLanes(x)
        var geometry = window.c
        dfkd_max_pool_forward(x.pointer, out.pointer, positions.pointer, planes, lanes, &geometry)
    }

    /// dx of max pooling: each output's gradient at its recorded position.
    static func maxBackward(_ dy: Tensor, positions: Storage, into dx: Tensor, window: PoolingWindow) {
        let (planes, lanes) = planesAndLanes(dx)
        var geometry = window.c
        dfkd_max_pool_backward(dy.pointer, positions.pointer, dx.pointer, planes, lanes, &geometry)
    }

    /// Average pooling, the zero padding counted in the divisor (kernel squared).
    static func averageForward(_ x: Tensor, into out: Tensor, window: PoolingWindow) {
        let (planes, lanes) = planesAndLanes(x)
        var geometry = window.c
        dfkd_average_pool_forward(x.pointer, out.pointer, planes, lanes, &geometry)
    }

    static func averageBackward(_ dy: Tensor, into dx: Tensor, window: PoolingWindow) {
        let (planes, lanes) = planesAndLanes(dx)
        var geometry = window.c
        dfkd_average_pool_backward(dy.pointer, dx.pointer, planes, lanes, &geometry)
    }

    /// Planes of one image and channel block, and the channels interleaved in each.
    private static func planesAndLanes(_ t: Tensor) -> (Int, Int32) {
        let view = LaneView(t)
        return (view.images * view.blocks, Int32(view.lanes))
    }
}
