/// Max and average pooling over a lane view: each output pixel reads whole lane vectors of
/// its window, so a channel-blocked tensor pools B channels per instruction and a plain one
/// a channel at a time. oneDNN 2.6's AVX2 pooling on the blocked layout took as long as
/// LeNet-5's backward-weights convolutions; these loops are bound by memory instead.
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

    /// The window rows (or columns) of output row `o` that lie inside an input of `size`.
    @inline(__always) func inside(_ o: Int, size: Int) -> Range<Int> {
        let start = o * stride - padding
        return max(0, -start)..<min(kernel, size - start)
    }
}

enum PoolingKernels {
    /// Max pooling of `x` into `out` (same layout), writing into `positions`, per output
    /// lane, the window position (row * kernel + column, as a Float) that held the maximum:
    /// where the backward pass routes the gradient. Ties go to
    /// the first position in row-major window order and a NaN wins, as in PyTorch.
    static func maxForward(_ x: Tensor, into out: Tensor, positions: Storage, window: PoolingWindow) {
        LaneView(x).run(MaxForward(view: LaneView(x), x: x.pointer, out: out.pointer, positions: positions.pointer, window: window))
    }

    /// dx of max pooling: each output's gradient added at its recorded position.
    static func maxBackward(_ dy: Tensor, positions: Storage, into dx: Tensor, window: PoolingWindow) {
        let view = LaneView(dx)
        dx.pointer.update(repeating: 0, count: dx.storageCount)
        view.run(Scatter(view: view, dy: dy.pointer, positions: positions.pointer, dx: dx.pointer, window: window))
    }

    /// Average pooling, the zero padding counted in the divisor (kernel squared).
    static func averageForward(_ x: Tensor, into out: Tensor, window: PoolingWindow) {
        LaneView(x).run(AverageForward(view: LaneView(x), x: x.pointer, out: out.pointer, window: window))
    }

    static func averageBackward(_ dy: Tensor, into dx: Tensor, window: PoolingWindow) {
        let view = LaneView(dx)
        dx.pointer.update(repeating: 0, count: dx.storageCount)
        view.run(Scatter(view: view, dy: dy.pointer, positions: nil, dx: dx.pointer, window: window))
    }

    /// The planes of one (image, channel block): input and output offsets.
    @inline(__always)
    fileprivate static func forEachPlane(_ view: LaneView, _ window: PoolingWindow, _ body: (Int, Int) -> Void) {
        let outputPlane = window.outputHeight * window.outputWidth * view.lanes
        for plane in 0..<(view.images * view.blocks) {
            body(plane * view.pixels * view.lanes, plane * outputPlane)
        }
    }

    private struct MaxForward: LaneKernel {
        let view: LaneView, x: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
        let positions: UnsafeMutablePointer<Float>, window: PoolingWindow

        func run<V: LaneVector>(_: V.Type) {
            let w = window, lanes = V.width
            forEachPlane(view, w) { inputBase, outputBase in
                var o = outputBase
                for oy in 0..<w.outputHeight {
                    let rows = w.inside(oy, size: w.inputHeight), top = oy * w.stride - w.padding
                    for ox in 0..<w.outputWidth {
                        let columns = w.inside(ox, size: w.inputWidth), left = ox * w.stride - w.padding
                        // Windows always hold an input (padding is at most half the window).
                        let corner = x + inputBase + ((top + rows.lowerBound) * w.inputWidth + left) * lanes
                        var best = V.load(corner + columns.lowerBound * lanes)
                        var at = V(repeating: Float(rows.lowerBound * w.kernel + columns.lowerBound))
                        for r in rows {
                            let row = x + inputBase + ((top + r) * w.inputWidth + left) * lanes
                            for c in columns {
                                best.keepMaximum(V.load(row + c * lanes), position: Float(r * w.kernel + c), positions: &at)
                            }
                        }
                        best.store(out + o)
                        at.store(positions + o)
                        o += lanes
                    }
                }
            }
        }
    }

    private struct AverageForward: LaneKernel {
        let view: LaneView, x: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, window: PoolingWindow

        func run<V: LaneVector>(_: V.Type) {
            let w = window, lanes = V.width, scale = V(repeating: 1 / Float(w.kernel * w.kernel))
            forEachPlane(view, w) { inputBase, outputBase in
                var o = outputBase
                for oy in 0..<w.outputHeight {
                    let rows = w.inside(oy, size: w.inputHeight), top = oy * w.stride - w.padding
                    for ox in 0..<w.outputWidth {
                        let columns = w.inside(ox, size: w.inputWidth), left = ox * w.stride - w.padding
                        var sum = V(repeating: 0)
                        for r in rows {
                            let row = x + inputBase + ((top + r) * w.inputWidth + left) * lanes
                            for c in columns { sum = sum + V.load(row + c * lanes) }
                        }
                        (sum * scale).store(out + o)
                        o += lanes
                    }
                }
            }
        }
    }

    /// Adds each output's gradient into its window: at the recorded maximum (positions), or
    /// spread evenly (average). Windows may overlap, so it accumulates into a zeroed dx.
    private struct Scatter: LaneKernel {
        let view: LaneView, dy: UnsafeMutablePointer<Float>, positions: UnsafeMutablePointer<Float>?
        let dx: UnsafeMutablePointer<Float>, window: PoolingWindow

        func run<V: LaneVector>(_: V.Type) {
            let w = window, lanes = V.width, scale = V(repeating: 1 / Float(w.kernel * w.kernel))
            forEachPlane(view, w) { inputBase, outputBase in
                var o = outputBase
                for oy in 0..<w.outputHeight {
                    let rows = w.inside(oy, size: w.inputHeight), top = oy * w.stride - w.padding
                    for ox in 0..<w.outputWidth {
                        let columns = w.inside(ox, size: w.inputWidth), left = ox * w.stride - w.padding
                        let gradient = V.load(dy + o)
                        if let positions {
                            let at = V.load(positions + o)
                            for r in rows {
                                let row = dx + inputBase + ((top + r) * w.inputWidth + left) * lanes
                                for c in columns {
                                    let target = row + c * lanes
                                    (V.load(target) + gradient.selected(where: at, equals: Float(r * w.kernel + c))).store(target)
                                }
                            }
                        } else {
                            let share = gradient * scale
                            for r in rows {
                                let row = dx + inputBase + ((top + r) * w.inputWidth + left) * lanes
                                for c in columns {
                                    let target = row + c * lanes
                                    (V.load(target) + share).store(target)
                                }
                            }
                        }
                        o += lanes
                    }
                }
            }
        }
    }
}
