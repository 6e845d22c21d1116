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
        let scales = ClassRows(scale, view: view), shifts = ClassRows(shift, view: view)
        let out = Tensor(uninitializedShape: x.shape, layout: x.layout)
        for (image, label) in labels.enumerated() {
            ImageChannels.affine(x, into: out, image: image, view: view, scale: scales[label], shift: shifts[label])
        }
        let input = x.detached()
        let zeros = [Float](repeating: 0, count: view.blocks * view.lanes)
        record("class-scale-shift", inputs: [x, scale, shift], outputs: [out]) { grads in
            guard let g = grads[0] else { return [nil, nil, nil] }
            let dy = LayoutConversion.convert(g, to: input.layout)
            let dx = x.needsGradient ? Tensor(uninitializedShape: input.shape, layout: input.layout) : nil
            let dScale = Tensor.zeros([classes, c]), dShift = Tensor.zeros([classes, c])
            for (image, label) in labels.enumerated() {
                // Per channel: sum(dy) and sum(dy * x) over this image's pixels.
                let (sumDy, sumDyX) = ImageChannels.sums(dy, input, image: image, view: view)
                for channel in 0..<c {
                    dScale.pointer[label * c + channel] += Float(sumDyX[channel])
                    dShift.pointer[label * c + channel] += Float(sumDy[channel])
                }
                if let dx { ImageChannels.affine(dy, into: dx, image: image, view: view, scale: scales[label], shift: zeros[...]) }
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
