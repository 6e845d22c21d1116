import TensorEngine

/// One batch: normalised images (N x C x H x W, plain) and their labels.
public struct Batch {
    public let images: Tensor
    public let labels: [Int]
}

/// Batches of an image set: a seeded order per epoch (the same seed and epoch give the same
/// batches on every machine), augmentation drawn from the same seed, normalisation.
public struct BatchSource {
    public let set: ImageSet
    public let batchSize: Int
    public let normalization: Normalization
    public let augmentation: Augmentation
    public let seed: UInt64
    /// Shuffle and augment (training), or keep file order untouched (evaluation).
    public let training: Bool

    public init(_ set: ImageSet, batchSize: Int, normalization: Normalization, augmentation: Augmentation = .none,
                seed: UInt64 = 0, training: Bool) {
        precondition(normalization.mean.count == set.channels, "normalisation for \(normalization.mean.count) channels, images have \(set.channels)")
        self.set = set
        self.batchSize = batchSize
        self.normalization = normalization
        self.augmentation = training ? augmentation : .none
        self.seed = seed
        self.training = training
    }

    /// Batches per epoch; training drops the last partial batch (batch-norm statistics of a
    /// handful of images are noise), evaluation keeps it.
    public var batchesPerEpoch: Int { training ? set.count / batchSize : (set.count + batchSize - 1) / batchSize }

    /// The image order of `epoch`.
    public func order(epoch: Int) -> [Int] {
        guard training else { return Array(0..<set.count) }
        return Philox(seed: seed, stream: UInt64(epoch)).permutation(of: set.count)
    }

    /// Batch `index` of `epoch`, given that epoch's order; only its members `rows` when given
    /// (a rank's share: augmentation is keyed by image, so the share equals that slice of the
    /// whole batch).
    public func batch(_ index: Int, epoch: Int, order: [Int], rows: Range<Int>? = nil) -> Batch {
        let whole = order[(index * batchSize)..<min(order.count, (index + 1) * batchSize)]
        let members = Array(rows.map { whole.dropFirst($0.lowerBound).prefix($0.count) } ?? whole)
        let (c, h, w) = (set.channels, set.height, set.width)
        let out = Tensor.zeros([members.count, c, h, w])
        let scale = normalization.std.map { 1 / (255 * $0) }
        let shift = (0..<c).map { -normalization.mean[$0] / normalization.std[$0] }
        let augmentRandom = Philox(seed: seed ^ 0x5eed_a06, stream: UInt64(epoch))
        let pad = augmentation.cropPadding
        set.pixels.withUnsafeBufferPointer { pixels in
            for (slot, image) in members.enumerated() {
                var dx = 0, dy = 0, flip = false
                if pad > 0 || augmentation.horizontalFlip {
                    let u = augmentRandom.uniform(count: 3, offset: UInt64(image) * 4)
                    if pad > 0 {
                        dx = min(2 * pad, Int(u[0] * Float(2 * pad + 1))) - pad
                        dy = min(2 * pad, Int(u[1] * Float(2 * pad + 1))) - pad
                    }
                    flip = augmentation.horizontalFlip && u[2] < 0.5
                }
                for channel in 0..<c {
                    let source = pixels.baseAddress! + (image * c + channel) * h * w
                    let target = out.pointer + (slot * c + channel) * h * w
                    for y in 0..<h {
                        let sy = y + dy
                        // Outside the image is the zero padding of the crop: normalised zero.
                        guard sy >= 0, sy < h else {
                            for x in 0..<w { target[y * w + x] = shift[channel] }
                            continue
                        }
                        for x in 0..<w {
                            let sx = (flip ? w - 1 - x : x) + dx
                            let value: Float = sx >= 0 && sx < w ? Float(source[sy * w + sx]) : 0
                            target[y * w + x] = value * scale[channel] + shift[channel]
                        }
                    }
                }
            }
        }
        return Batch(images: out, labels: members.map { set.labels[$0] })
    }
}
