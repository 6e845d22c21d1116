import TensorEngine

/// Random shifts and horizontal flips of generated images before a student step: the teacher
/// labels the moved images itself, so no transformation can carry a wrong label, and the
/// student learns to follow the teacher on a wider neighbourhood of what the generator draws.
/// Each image's transformation depends only on the seed, the draw and the image's index in
/// the global batch, so the ranks together move the images one process would.
public struct GeneratedAugmentation: Sendable, Equatable {
    /// Largest shift in pixels, in each direction; edges are repeated into the gap.
    public var shift: Int
    public var horizontalFlip: Bool

    public init(shift: Int, horizontalFlip: Bool) { (self.shift, self.horizontalFlip) = (shift, horizontalFlip) }

    public var isIdentity: Bool { shift == 0 && !horizontalFlip }

    /// `images` (N x C x H x W) moved; row i is global sample `rows.lowerBound + i` of the draw.
    public func apply(to images: Tensor, rows: Range<Int>, random: Philox) -> Tensor {
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let values = images.toArray()
        var moved = [Float](repeating: 0, count: values.count)
        let span = 2 * shift + 1
        for i in 0..<n {
            let u = random.uniform(count: 3, offset: UInt64(3 * (rows.lowerBound + i)))
            let dy = min(Int(u[0] * Float(span)), span - 1) - shift, dx = min(Int(u[1] * Float(span)), span - 1) - shift
            let flip = horizontalFlip && u[2] < 0.5
            for channel in 0..<c {
                let plane = (i * c + channel) * h * w
                for y in 0..<h {
                    let sourceY = min(max(y - dy, 0), h - 1)
                    for x in 0..<w {
                        let shiftedX = min(max(x - dx, 0), w - 1)
                        moved[plane + y * w + x] = values[plane + sourceY * w + (flip ? w - 1 - shiftedX : shiftedX)]
                    }
                }
            }
        }
        return Tensor(shape: images.shape, values: moved)
    }
}
