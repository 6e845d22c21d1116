/// Moves tensors between plain NCHW and channel-blocked nChw{B}c. Networks stay blocked between
/// convolutions; conversions happen at their edges (flatten, the input image).
enum LayoutConversion {
    static func toPlain(_ x: Tensor) -> Tensor {
        guard case .channelBlocked(let block) = x.layout else { return x }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let out = Tensor(uninitializedShape: x.shape)
        let blocks = Layout.paddedChannels(c, block: block) / block
        let spatial = h * w
        let src = x.pointer, dst = out.pointer
        for image in 0..<n {
            for cb in 0..<blocks {
                let lanes = min(block, c - cb * block)
                let from = src + (image * blocks + cb) * spatial * block
                for lane in 0..<lanes {
                    let to = dst + (image * c + cb * block + lane) * spatial
                    for p in 0..<spatial { to[p] = from[p * block + lane] }
                }
            }
        }
        return out
    }

    static func toBlocked(_ x: Tensor, block: Int) -> Tensor {
        if x.layout == .channelBlocked(block) { return x }
        let source = toPlain(x)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let out = Tensor(uninitializedShape: x.shape, layout: .channelBlocked(block))
        let blocks = Layout.paddedChannels(c, block: block) / block
        let spatial = h * w
        let src = source.pointer, dst = out.pointer
        for image in 0..<n {
            for cb in 0..<blocks {
                let lanes = min(block, c - cb * block)
                let to = dst + (image * blocks + cb) * spatial * block
                if lanes < block {
                    to.update(repeating: 0, count: spatial * block)
                }
                for lane in 0..<lanes {
                    let from = src + (image * c + cb * block + lane) * spatial
                    for p in 0..<spatial { to[p * block + lane] = from[p] }
                }
            }
        }
        return out
    }

    static func convert(_ x: Tensor, to layout: Layout) -> Tensor {
        switch layout {
        case .plain: toPlain(x)
        case .channelBlocked(let block): toBlocked(x, block: block)
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
