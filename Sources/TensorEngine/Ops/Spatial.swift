import CEngineKernels

/// Nearest-neighbour upsampling by 2 and global average pooling, on the lane view (any layout).
extension Tensor {
    /// Each pixel repeated into a 2 x 2 square (PyTorch's nn.Upsample(scale_factor=2)).
    public func upsampledNearest2x() -> Tensor {
        precondition(rank == 4, "upsampling needs a 4-D input, got \(shape)")
        let view = LaneView(self)
        let (h, w, lanes) = (shape[2], shape[3], view.lanes)
        let out = Tensor(uninitializedShape: [shape[0], shape[1], 2 * h, 2 * w], layout: layout)
        let planes = view.images * view.blocks
        dfkd_upsample_nearest_2x_forward(pointer, out.pointer, planes, Int32(h), Int32(w), Int32(lanes))
        let sourceLayout = layout, sourceShape = shape
        record("upsample-nearest-2x", inputs: [self], outputs: [out]) { grads in
            guard let g = grads[0] else { return [nil] }
            let dy = LayoutConversion.convert(g, to: sourceLayout)
            let dx = Tensor(uninitializedShape: sourceShape, layout: sourceLayout)
            dfkd_upsample_nearest_2x_backward(dy.pointer, dx.pointer, planes, Int32(h), Int32(w), Int32(lanes))
            return [dx]
        }
        return out
    }

    /// The mean over H and W: N x C x H x W -> N x C (plain).
    public func globalAveragePooled() -> Tensor {
        precondition(rank == 4, "global average pooling needs a 4-D input, got \(shape)")
        let view = LaneView(self)
        let lanes = view.lanes, c = view.channels
        let out = Tensor(uninitializedShape: [view.images, c])
        let inverse = 1 / Float(view.pixels)
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: lanes)
        defer { partial.deallocate() }
        for image in 0..<view.images {
            for block in 0..<view.blocks {
                partial.update(repeating: 0, count: lanes)
                var p = pointer + view.base(image: image, block: block)
                for _ in 0..<view.pixels {
                    for lane in 0..<lanes { partial[lane] += p[lane] }
                    p += lanes
                }
                for lane in 0..<view.activeLanes(block: block) {
                    out.pointer[image * c + block * lanes + lane] = partial[lane] * inverse
                }
            }
        }
        let sourceLayout = layout, sourceShape = shape
        record("global-average-pool", inputs: [self], outputs: [out]) { grads in
            guard let g = grads[0].map(LayoutConversion.toPlain) else { return [nil] }
            let dx = Tensor(uninitializedShape: sourceShape, layout: sourceLayout)
            for image in 0..<view.images {
                for block in 0..<view.blocks {
                    var p = dx.pointer + view.base(image: image, block: block)
                    let active = view.activeLanes(block: block)
                    for _ in 0..<view.pixels {
                        for lane in 0..<lanes {
                            p[lane] = lane < active ? g.pointer[image * c + block * lanes + lane] * inverse : 0
                        }
                        p += lanes
                    }
                }
            }
            return [dx]
        }
        return out
    }
}
