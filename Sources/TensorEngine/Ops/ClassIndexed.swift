/// Ops indexed by integer class labels: the class-conditional scale and shift of categorical
/// batch norm, and embedding lookup.
extension Tensor {
    /// out[n, c, ...] = scale[y[n], c] * x[n, c, ...] + shift[y[n], c], with scale and shift of
    /// shape (K, C): the per-class affine part of conditional batch normalisation.
    public static func classScaleShift(_ x: Tensor, labels: [Int], scale: Tensor, shift: Tensor) -> Tensor {
        let view = LaneView(x)
        let (classes, c) = (scale.shape[0], view.channels)
        precondition(scale.shape == [classes, c] && shift.shape == [classes, c],
                     "classScaleShift: scale \(scale.shape) and shift \(shift.shape) must be [classes, \(c)]")
        precondition(labels.count == view.images, "classScaleShift: \(labels.count) labels for a batch of \(view.images)")
        precondition(labels.allSatisfy { (0..<classes).contains($0) }, "classScaleShift: a label is outside 0..<\(classes)")
        let lanes = view.lanes
        let out = Tensor(uninitializedShape: x.shape, layout: x.layout)
        for image in 0..<view.images {
            let gamma = scale.pointer + labels[image] * c, beta = shift.pointer + labels[image] * c
            for block in 0..<view.blocks {
                let active = view.activeLanes(block: block)
                let offset = view.base(image: image, block: block)
                var src = x.pointer + offset, dst = out.pointer + offset
                for _ in 0..<view.pixels {
                    for lane in 0..<lanes {
                        dst[lane] = lane < active ? gamma[block * lanes + lane] * src[lane] + beta[block * lanes + lane] : 0
                    }
                    src += lanes
                    dst += lanes
                }
            }
        }
        let input = x.detached(), gammaValues = scale.detached()
        record("class-scale-shift", inputs: [x, scale, shift], outputs: [out]) { grads in
            guard let g = grads[0] else { return [nil, nil, nil] }
            let dy = LayoutConversion.convert(g, to: input.layout)
            let dx = x.needsGradient ? Tensor(uninitializedShape: input.shape, layout: input.layout) : nil
            let dScale = Tensor.zeros([classes, c]), dShift = Tensor.zeros([classes, c])
            for image in 0..<view.images {
                let row = labels[image] * c
                let gamma = gammaValues.pointer + row
                for block in 0..<view.blocks {
                    let active = view.activeLanes(block: block)
                    let offset = view.base(image: image, block: block)
                    var d = dy.pointer + offset, v = input.pointer + offset
                    var o = dx.map { $0.pointer + offset }
                    for _ in 0..<view.pixels {
                        for lane in 0..<active {
                            let channel = block * lanes + lane
                            dScale.pointer[row + channel] += d[lane] * v[lane]
                            dShift.pointer[row + channel] += d[lane]
                        }
                        if let out = o {
                            for lane in 0..<lanes { out[lane] = lane < active ? gamma[block * lanes + lane] * d[lane] : 0 }
                            o = out + lanes
                        }
                        d += lanes
                        v += lanes
                    }
                }
            }
            return [dx, scale.needsGradient ? dScale : nil, shift.needsGradient ? dShift : nil]
        }
        return out
    }

    /// Rows of `table` (K x D) picked by `indices`: an N x D tensor.
    public static func embedding(_ indices: [Int], table: Tensor) -> Tensor {
        precondition(table.rank == 2, "embedding table must be 2-D, got \(table.shape)")
        let (rows, width) = (table.shape[0], table.shape[1])
        precondition(indices.allSatisfy { (0..<rows).contains($0) }, "embedding: an index is outside 0..<\(rows)")
        let out = Tensor(uninitializedShape: [indices.count, width])
        for (i, index) in indices.enumerated() {
            (out.pointer + i * width).update(from: table.pointer + index * width, count: width)
        }
        record("embedding", inputs: [table], outputs: [out]) { grads in
            guard let g = grads[0].map(LayoutConversion.toPlain) else { return [nil] }
            let dTable = Tensor.zeros([rows, width])
            for (i, index) in indices.enumerated() {
                let src = g.pointer + i * width, dst = dTable.pointer + index * width
                for j in 0..<width { dst[j] += src[j] }
            }
            return [dTable]
        }
        return out
    }
}
