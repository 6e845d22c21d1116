/// Per-channel sums over a lane view. Accumulation runs in Float within one (image, block)
/// and in Double across them, so large batches lose no precision.
enum ChannelStatistics {
    /// Values per channel: of this tensor, or of the whole batch it is a part of.
    static func count(_ view: LaneView, partition: BatchPartition?) -> Int {
        partition.map { $0.samples * view.pixels } ?? view.perChannel
    }

    /// Per channel: the mean and the biased variance (of the whole batch, given a partition).
    /// Two passes, the second summing squared deviations from the mean: E[x^2] - E[x]^2 loses
    /// float32 precision whenever the mean is large against the spread, as it often is after
    /// a convolution, and then magnifies the rounding differences of convolutions run at
    /// other batch sizes.
    static func meanAndVariance(_ x: Tensor, view: LaneView, partition: BatchPartition? = nil) -> ([Float], [Float]) {
        let count = Double(count(view, partition: partition))
        var sums = view.run(Sums(view: view, x: x, mean: nil, dy: nil)).0
        if let partition { sums = partition.sum(sums) }
        let mean = sums.map { Float($0 / count) }
        var squares = view.run(Sums(view: view, x: x, mean: mean, dy: nil)).1
        if let partition { squares = partition.sum(squares) }
        return (mean, squares.map { Float($0 / count) })
    }

    /// Per channel: sum(dy) and sum(dy * (x - mean)).
    static func gradientSums(_ dy: Tensor, _ x: Tensor, mean: [Float], view: LaneView) -> ([Float], [Float]) {
        let (sumDy, sumDyCentered) = view.run(Sums(view: view, x: x, mean: mean, dy: dy))
        return (sumDy.map(Float.init), sumDyCentered.map(Float.init))
    }

    /// Without dy: sum(x) and sum((x - mean)^2) (mean 0 if not given). With dy: sum(dy) and
    /// sum(dy * (x - mean)).
    private struct Sums: LaneKernel {
        let view: LaneView, x: Tensor, mean: [Float]?, dy: Tensor?

        func run<V: LaneVector>(_: V.Type) -> ([Double], [Double]) {
            var first = [Double](repeating: 0, count: view.channels)
            var second = [Double](repeating: 0, count: view.channels)
            for block in 0..<view.blocks {
                let laneMean: V = mean.map { view.vector($0, block: block) } ?? V(repeating: 0)
                for image in 0..<view.images {
                    let base = view.base(image: image, block: block)
                    var a = V(repeating: 0), b = V(repeating: 0)
                    var p = x.pointer + base
                    if let dy {
                        var d = dy.pointer + base
                        for _ in 0..<view.pixels {
                            let g = V.load(d)
                            a = a + g
                            b = b + g * (V.load(p) - laneMean)
                            p += V.width
                            d += V.width
                        }
                    } else {
                        for _ in 0..<view.pixels {
                            let v = V.load(p)
                            let deviation = v - laneMean
                            a = a + v
                            b = b + deviation * deviation
                            p += V.width
                        }
                    }
                    for lane in 0..<view.activeLanes(block: block) {
                        first[block * V.width + lane] += Double(a.lane(lane))
                        second[block * V.width + lane] += Double(b.lane(lane))
                    }
                }
            }
            return (first, second)
        }
    }
}

/// Per-channel affine maps over a lane view; padding lanes stay zero.
enum ChannelAffine {
    /// out = scale[c] * x + shift[c]
    static func apply(_ x: Tensor, view: LaneView, scale: [Float], shift: [Float]) -> Tensor {
        combine(nil, x, view: view, dyScale: nil, xScale: scale, offset: shift)
    }

    /// out = dyScale[c] * dy + xScale[c] * x + offset[c] (without the dy term when dy is nil)
    static func combine(_ dy: Tensor?, _ x: Tensor, view: LaneView, dyScale: [Float]?, xScale: [Float], offset: [Float]) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape, layout: x.layout)
        view.run(Combine(view: view, dy: dy, x: x, out: out, dyScale: dyScale, xScale: xScale, offset: offset))
        return out
    }

    private struct Combine: LaneKernel {
        let view: LaneView, dy: Tensor?, x: Tensor, out: Tensor
        let dyScale: [Float]?, xScale: [Float], offset: [Float]

        func run<V: LaneVector>(_: V.Type) {
            for block in 0..<view.blocks {
                let k: V = view.vector(xScale, block: block), b: V = view.vector(offset, block: block)
                for image in 0..<view.images {
                    let base = view.base(image: image, block: block)
                    var v = x.pointer + base, o = out.pointer + base
                    if let dy, let dyScale {
                        let a: V = view.vector(dyScale, block: block)
                        var d = dy.pointer + base
                        for _ in 0..<view.pixels {
                            (a * V.load(d) + k * V.load(v) + b).store(o)
                            d += V.width
                            v += V.width
                            o += V.width
                        }
                    } else {
                        for _ in 0..<view.pixels {
                            (k * V.load(v) + b).store(o)
                            v += V.width
                            o += V.width
                        }
                    }
                }
            }
        }
    }
}
