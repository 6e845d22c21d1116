import CEngineKernels

/// Per-channel sums over a lane view, on the engine's C kernels. Accumulation runs in Float
/// within one (image, block) and in Double across them, so large batches lose no precision.
enum ChannelStatistics {
    /// Values per channel: of this tensor, or of the whole batch it is a part of.
    static func count(_ view: LaneView, partition: BatchPartition?) -> Int {
        partition.map { $0.samples * view.pixels } ?? view.perChannel
    }

    /// Per channel: the mean and the biased variance (of the whole batch, given a partition).
    /// The squared deviations are summed about each image's own mean while its plane is in
    /// the cache, and the images combine in double: one pass over memory, without the float32
    /// cancellation of E[x^2] - E[x]^2 whenever the mean is large against the spread, as it
    /// often is after a convolution (that would magnify the rounding differences of
    /// convolutions run at other batch sizes).
    static func meanAndVariance(_ x: Tensor, view: LaneView, partition: BatchPartition? = nil) -> ([Float], [Float]) {
        let (sums, deviations) = moments(x, view: view)
        let local = Double(view.perChannel)
        guard let partition else { return (sums.map { Float($0 / local) }, deviations.map { Float($0 / local) }) }
        // The parts combine as the images do: each part's deviations are moved from its own
        // mean to the whole batch's before they are summed.
        let count = Double(count(view, partition: partition))
        let mean = partition.sum(sums).map { $0 / count }
        let moved = local == 0 ? deviations : zip(zip(sums, deviations), mean).map { part, mean in
            let offset = part.0 / local - mean
            return part.1 + local * offset * offset
        }
        return (mean.map { Float($0) }, partition.sum(moved).map { Float($0 / count) })
    }

    private static func moments(_ x: Tensor, view: LaneView) -> ([Double], [Double]) {
        var sums = [Double](repeating: 0, count: view.channels)
        var deviations = [Double](repeating: 0, count: view.channels)
        sums.withUnsafeMutableBufferPointer { sums in
            deviations.withUnsafeMutableBufferPointer { deviations in
                dfkd_channel_moments(x.pointer, view.images, Int32(view.blocks), Int32(view.lanes), view.pixels,
                                     Int32(view.channels), sums.baseAddress, deviations.baseAddress)
            }
        }
        return (sums, deviations)
    }

    /// Per channel: sum(g) and sum(g * (x - mean)), g being dy, or dy passed back through the
    /// ReLU of `gate` when given.
    static func gradientSums(_ dy: Tensor, _ x: Tensor, mean: [Float], view: LaneView,
                             gate: RectifiedAffine? = nil) -> ([Float], [Float]) {
        let (sumDy, sumDyCentered) = sums(x, dy: dy, mean: mean, view: view, gate: gate)
        return (sumDy.map(Float.init), sumDyCentered.map(Float.init))
    }

    /// sum(g) and sum(g * (x - mean)).
    private static func sums(_ x: Tensor, dy: Tensor, mean: [Float], view: LaneView,
                             gate: RectifiedAffine? = nil) -> ([Double], [Double]) {
        var first = [Double](repeating: 0, count: view.channels)
        var second = [Double](repeating: 0, count: view.channels)
        let laneMean = view.perLane(mean)
        first.withUnsafeMutableBufferPointer { first in
            second.withUnsafeMutableBufferPointer { second in
                laneMean.withUnsafeBufferPointer { laneMean in
                    withGatePointers(gate, view: view) { gateScale, gateShift in
                        dfkd_channel_sums(x.pointer, dy.pointer, laneMean.baseAddress, gateScale, gateShift, view.images,
                                          Int32(view.blocks), Int32(view.lanes), view.pixels, Int32(view.channels),
                                          first.baseAddress, second.baseAddress)
                    }
                }
            }
        }
        return (first, second)
    }
}

/// The per-channel map x -> max(0, scale[c] * x + shift[c]) a fused batch norm and ReLU
/// applied: a gradient passes back through its ReLU where the map, recomputed from x with
/// the forward's rounding, was above 0. Recomputing reads x alone, where the output would
/// be one more tensor to read.
struct RectifiedAffine {
    let scale: [Float]
    let shift: [Float]
}

/// Per-channel affine maps over a lane view, on the engine's C kernels; padding lanes stay
/// zero.
enum ChannelAffine {
    /// out = scale[c] * x + shift[c], and 0 wherever that is not above 0 when `rectified`
    static func apply(_ x: Tensor, view: LaneView, scale: [Float], shift: [Float], rectified: Bool = false) -> Tensor {
        combine(nil, x, view: view, dyScale: nil, xScale: scale, offset: shift, rectified: rectified)
    }

    /// out = (dyScale[c] * g + xScale[c] * x) + offset[c], g being dy, or dy passed back
    /// through the ReLU of `gate` when given (without the dy term when dy is nil)
    static func combine(_ dy: Tensor?, _ x: Tensor, view: LaneView, dyScale: [Float]?, xScale: [Float], offset: [Float],
                        gate: RectifiedAffine? = nil, rectified: Bool = false) -> Tensor {
        precondition(dy == nil || dyScale != nil, "a dy term needs its scale")
        precondition(dy == nil || !rectified, "only a map without a dy term is rectified")
        let out = Tensor(uninitializedShape: x.shape, layout: x.layout)
        let dyScale = dyScale.map(view.perLane), xScale = view.perLane(xScale), offset = view.perLane(offset)
        withOptionalPointer(dyScale) { dyScale in
            withGatePointers(gate, view: view) { gateScale, gateShift in
                dfkd_channel_affine(dy?.pointer, x.pointer, out.pointer, dyScale, xScale, offset, gateScale, gateShift,
                                    rectified ? 1 : 0, view.images, Int32(view.blocks), Int32(view.lanes), view.pixels)
            }
        }
        return out
    }
}

/// A (classes x channels) table of per-class channel coefficients, each row laid out as
/// blocks x lanes with zero padding lanes, for the per-image kernels.
struct ClassRows {
    private let values: [Float]
    private let width: Int

    init(_ table: Tensor, view: LaneView) {
        let (classes, channels) = (table.shape[0], table.shape[1])
        let rows = LayoutConversion.toPlain(table).toArray()
        width = view.blocks * view.lanes
        values = (0..<classes).flatMap { view.perLane(Array(rows[$0 * channels..<($0 + 1) * channels])) }
    }

    subscript(row: Int) -> ArraySlice<Float> { values[row * width..<(row + 1) * width] }
}

/// The channel kernels on one image of a batch: what ops whose coefficients differ from
/// image to image (a class's scale and shift) run on.
enum ImageChannels {
    /// out's image = scale[c] * x + shift[c] on that image; coefficients laid out as blocks x lanes.
    static func affine(_ x: Tensor, into out: Tensor, image: Int, view: LaneView, scale: ArraySlice<Float>,
                       shift: ArraySlice<Float>) {
        let start = view.base(image: image, block: 0)
        scale.withUnsafeBufferPointer { scale in
            shift.withUnsafeBufferPointer { shift in
                dfkd_channel_affine(nil, x.pointer + start, out.pointer + start, nil, scale.baseAddress, shift.baseAddress,
                                    nil, nil, 0, 1, Int32(view.blocks), Int32(view.lanes), view.pixels)
            }
        }
    }

    /// Per channel over that image: sum(dy) and sum(dy * x).
    static func sums(_ dy: Tensor, _ x: Tensor, image: Int, view: LaneView) -> ([Double], [Double]) {
        let start = view.base(image: image, block: 0)
        var first = [Double](repeating: 0, count: view.channels), second = first
        first.withUnsafeMutableBufferPointer { first in
            second.withUnsafeMutableBufferPointer { second in
                dfkd_channel_sums(x.pointer + start, dy.pointer + start, nil, nil, nil, 1, Int32(view.blocks),
                                  Int32(view.lanes), view.pixels, Int32(view.channels), first.baseAddress, second.baseAddress)
            }
        }
        return (first, second)
    }
}

extension LaneView {
    /// Per-channel values laid out as blocks x lanes, zero in the padding lanes.
    func perLane(_ values: [Float]) -> [Float] {
        precondition(values.count == channels, "expected \(channels) per-channel values, got \(values.count)")
        return values + [Float](repeating: 0, count: blocks * lanes - channels)
    }
}

private func withGatePointers<R>(_ gate: RectifiedAffine?, view: LaneView,
                                 _ body: (UnsafePointer<Float>?, UnsafePointer<Float>?) -> R) -> R {
    withOptionalPointer(gate.map { view.perLane($0.scale) }) { scale in
        withOptionalPointer(gate.map { view.perLane($0.shift) }) { shift in body(scale, shift) }
    }
}

private func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
