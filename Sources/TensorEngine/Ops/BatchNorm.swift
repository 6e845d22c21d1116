import Foundation

/// Running statistics a batch-norm layer keeps: updated in place in training mode, used in
/// evaluation mode. `momentum` weighs the new batch, as PyTorch's.
public struct RunningStatistics {
    public let mean: Tensor
    public let variance: Tensor
    public var momentum: Float

    public init(mean: Tensor, variance: Tensor, momentum: Float = 0.1) {
        self.mean = mean
        self.variance = variance
        self.momentum = momentum
    }
}

/// A batch divided over processes, this one holding a part: what a per-channel batch
/// statistic needs to span the whole batch.
public struct BatchPartition {
    /// Samples in the whole batch.
    public let samples: Int
    /// The element-wise sum over every part of per-channel partial sums (a collective).
    public let sum: ([Double]) -> [Double]

    public init(samples: Int, sum: @escaping ([Double]) -> [Double]) {
        self.samples = samples
        self.sum = sum
    }

    /// Sums two per-channel vectors over the parts in one message.
    func sum(_ first: [Double], _ second: [Double]) -> ([Double], [Double]) {
        let total = sum(first + second)
        return (Array(total[..<first.count]), Array(total[first.count...]))
    }

    func sum(_ first: [Float], _ second: [Float]) -> ([Float], [Float]) {
        let (a, b) = sum(first.map(Double.init), second.map(Double.init))
        return (a.map(Float.init), b.map(Float.init))
    }
}

/// Batch normalisation over (N, H, W) per channel, in plain or blocked layout.
///
/// Training: normalises with the batch mean and the biased variance and (if `running` is
/// given) moves the running mean and the unbiased running variance towards them.
/// Evaluation: normalises with the running statistics. `weight`/`bias` (C) are optional
/// (affine off). Gradients flow to the input and to weight and bias.
///
/// With a `partition`, x is one part of a batch spread over processes (synchronised batch
/// norm): the statistics (a collective of C values for the mean, one for the variance) and
/// the input gradient's per-channel sums (one of 2C values) span the whole batch. The
/// input's gradient is then that of the sum of the parts' losses, and weight's and bias's
/// are this part's share, to be averaged with the other parts' as every parameter gradient
/// of a data-parallel step.
///
/// `rectified` applies a ReLU to the output in the same pass (`batchNorm(...).relu()` in one
/// op, the same bits in the output and in every gradient for finite inputs): the normalised
/// tensor is never stored, and the backward recomputes the ReLU's mask from x instead of
/// reading it.
extension Tensor {
    public static func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, running: RunningStatistics?,
                                 training: Bool, epsilon: Float = 1e-5, partition: BatchPartition? = nil,
                                 rectified: Bool = false) -> Tensor {
        let view = LaneView(x)
        let c = view.channels
        precondition(weight.map { $0.shape == [c] } ?? true && bias.map { $0.shape == [c] } ?? true,
                     "batchNorm: weight/bias must have shape [\(c)] for input \(x.shape)")
        let mean: [Float], variance: [Float]
        let count = Float(ChannelStatistics.count(view, partition: partition))
        if training {
            (mean, variance) = ChannelStatistics.meanAndVariance(x, view: view, partition: partition)
            if let running {
                let unbiased = count > 1 ? count / (count - 1) : 1
                let m = running.momentum
                for ch in 0..<c {
                    running.mean.pointer[ch] = (1 - m) * running.mean.pointer[ch] + m * mean[ch]
                    running.variance.pointer[ch] = (1 - m) * running.variance.pointer[ch] + m * variance[ch] * unbiased
                }
            }
        } else {
            guard let running else { preconditionFailure("batchNorm in evaluation mode needs running statistics") }
            mean = Array(UnsafeBufferPointer(start: running.mean.pointer, count: c))
            variance = Array(UnsafeBufferPointer(start: running.variance.pointer, count: c))
        }
        let inverseStd = variance.map { 1 / ($0 + epsilon).squareRoot() }
        let gamma = weight.map { Array(UnsafeBufferPointer(start: $0.pointer, count: c)) } ?? [Float](repeating: 1, count: c)
        let beta = bias.map { Array(UnsafeBufferPointer(start: $0.pointer, count: c)) } ?? [Float](repeating: 0, count: c)
        let scale = (0..<c).map { gamma[$0] * inverseStd[$0] }
        let shift = (0..<c).map { beta[$0] - mean[$0] * scale[$0] }
        let out = ChannelAffine.apply(x, view: view, scale: scale, shift: shift, rectified: rectified)
        let gate = rectified ? RectifiedAffine(scale: scale, shift: shift) : nil

        let input = x.detached()
        let inputs = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        let name = (training ? "batch-norm" : "batch-norm-eval") + (rectified ? "-relu" : "")
        record(name, inputs: inputs, outputs: [out]) { grads in
            guard let g = grads[0] else { return inputs.map { _ in nil } }
            let dy = LayoutConversion.convert(g, to: input.layout)
            // Per channel: sum(dy) and sum(dy * (x - mean)), over this part and over the batch.
            let (sumDy, sumDyCentered) = ChannelStatistics.gradientSums(dy, input, mean: mean, view: view, gate: gate)
            let (batchSumDy, batchSumDyCentered) = training ? partition.map { $0.sum(sumDy, sumDyCentered) } ?? (sumDy, sumDyCentered)
                : (sumDy, sumDyCentered)
            var result: [Tensor?] = []
            if x.needsGradient {
                if training {
                    // dx = scale * (dy - sum(dy)/M - (x - mean) * invstd^2 * sum(dy (x - mean))/M)
                    let k = (0..<c).map { scale[$0] * inverseStd[$0] * inverseStd[$0] * batchSumDyCentered[$0] / count }
                    let offset = (0..<c).map { -scale[$0] * batchSumDy[$0] / count + k[$0] * mean[$0] }
                    result.append(ChannelAffine.combine(dy, input, view: view, dyScale: scale, xScale: k.map { -$0 },
                                                        offset: offset, gate: gate))
                } else if let gate {
                    let zeros = [Float](repeating: 0, count: c)
                    result.append(ChannelAffine.combine(dy, input, view: view, dyScale: scale, xScale: zeros, offset: zeros,
                                                        gate: gate))
                } else {
                    result.append(ChannelAffine.apply(dy, view: view, scale: scale, shift: [Float](repeating: 0, count: c)))
                }
            } else {
                result.append(nil)
            }
            if let weight {
                result.append(weight.needsGradient ? Tensor(shape: [c], values: (0..<c).map { sumDyCentered[$0] * inverseStd[$0] }) : nil)
            }
            if let bias {
                result.append(bias.needsGradient ? Tensor(shape: [c], values: sumDy) : nil)
            }
            return result
        }
        return out
    }

    /// The per-channel batch mean and biased variance of this N x C x H x W (or N x C) tensor
    /// as differentiable tensors of shape [C]: what the BN-statistics losses compare with a
    /// teacher's running statistics. With a `partition`, those of the whole batch; the
    /// gradients reaching them are then summed over the parts, as the gradient of a value
    /// every part uses.
    public func channelMoments(partition: BatchPartition? = nil) -> (mean: Tensor, variance: Tensor) {
        let view = LaneView(self)
        let (meanValues, varianceValues) = ChannelStatistics.meanAndVariance(self, view: view, partition: partition)
        let mean = Tensor(shape: [view.channels], values: meanValues)
        let variance = Tensor(shape: [view.channels], values: varianceValues)
        let input = self.detached()
        record("channel-moments", inputs: [self], outputs: [mean, variance]) { grads in
            // d/dx: dmean/M + dvar * 2 (x - mean) / M
            let count = Float(ChannelStatistics.count(view, partition: partition))
            var dMean = grads[0].map { $0.toArray() } ?? [Float](repeating: 0, count: view.channels)
            var dVariance = grads[1].map { $0.toArray() } ?? [Float](repeating: 0, count: view.channels)
            if let partition { (dMean, dVariance) = partition.sum(dMean, dVariance) }
            let xScale = dVariance.map { 2 * $0 / count }
            let offset = (0..<view.channels).map { dMean[$0] / count - xScale[$0] * meanValues[$0] }
            return [ChannelAffine.apply(input, view: view, scale: xScale, shift: offset)]
        }
        return (mean, variance)
    }
}
