import CEngineKernels

/// Moves tensors between plain NCHW and channel-blocked nChw{B}c. Networks stay blocked between
/// convolutions; conversions happen at their edges (flatten, the input image).
enum LayoutConversion {
    static func toPlain(_ x: Tensor) -> Tensor { convert(x, to: .plain) }

    static func toBlocked(_ x: Tensor, block: Int) -> Tensor { convert(x, to: .channelBlocked(block)) }

    /// `x` in `layout`: itself if already so, else a copy made in one pass (the engine's C
    /// kernel; between two blocked layouts too, without a plain copy between).
    static func convert(_ x: Tensor, to layout: Layout) -> Tensor {
        if x.layout == layout { return x }
        precondition(x.rank == 4, "a channel-blocked layout needs an N x C x H x W tensor, got \(x.shape)")
        let out = Tensor(uninitializedShape: x.shape, layout: layout)
        dfkd_convert_layout(x.pointer, Int32(lanes(x.layout)), out.pointer, Int32(lanes(layout)),
                            x.shape[0], Int32(x.shape[1]), x.shape[2] * x.shape[3])
        return out
    }

    private static func lanes(_ layout: Layout) -> Int {
        switch layout {
        case .plain: 1
        case .channelBlocked(let block): block
        }
    }
}

extension Tensor {
    /// This tensor in `layout` (itself if already so); differentiable.
    public func converted(to layout: Layout) -> Tensor {
        if self.layout == layout { return self }
        let sourceLayout = self.layout
        let out = LayoutConversion.convert(self, to: layout)
        record("convert-layout", inputs: [self], outputs: [out]) { grads in
            [grads[0].map { LayoutConversion.convert($0, to: sourceLayout) }]
        }
        return out
    }

    /// This tensor in plain row-major layout; differentiable.
    public func plain() -> Tensor { converted(to: .plain) }
}
