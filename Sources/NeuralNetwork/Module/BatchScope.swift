import TensorEngine

/// Where a batch lives: on this process alone, or spread over the ranks of a data-parallel
/// run. Every reduction over the batch (loss means, batch statistics, batch-coupled losses)
/// goes through a scope, so one method code serves one rank and N ranks alike.
///
/// Both operations are differentiable. Their backward passes are the matching collectives
/// (all-reduce of the gradient; the gradient of this rank's rows): with gradients averaged
/// over ranks afterwards, N ranks follow the trajectory of one rank with the whole batch.
public protocol BatchScope: AnyObject {
    /// The element-wise sum of `partial` over all ranks (itself on one rank).
    func sumOverRanks(_ partial: Tensor) -> Tensor
    /// Every rank's rows, concatenated along axis 0 in rank order (itself on one rank).
    func gatherRows(_ local: Tensor) -> Tensor
    /// The number of samples in the whole batch, given this rank's.
    func globalCount(_ localCount: Int) -> Int
}

/// The scope of a single process.
public final class LocalBatch: BatchScope, Sendable {
    public static let shared = LocalBatch()
    public init() {}
    public func sumOverRanks(_ partial: Tensor) -> Tensor { partial }
    public func gatherRows(_ local: Tensor) -> Tensor { local }
    public func globalCount(_ localCount: Int) -> Int { localCount }
}

extension BatchScope {
    /// The mean over the whole batch of per-sample values (a tensor whose first axis is the
    /// batch): sum here, sum over ranks, divide by the global count.
    public func batchMean(_ perSample: Tensor) -> Tensor {
        sumOverRanks(perSample.sum()) / Float(globalCount(perSample.shape[0]))
    }

    /// The mean over the whole batch of each column of an N x F tensor: an F vector.
    public func columnMean(_ rows: Tensor) -> Tensor {
        sumOverRanks(rows.sum(axes: [0])) / Float(globalCount(rows.shape[0]))
    }

    /// Per-channel mean and biased variance of an N x C x H x W tensor over the whole batch.
    /// Over ranks the variance takes a second pass (the squares of the deviations from the
    /// global mean): E[x^2] - E[x]^2 loses float32 precision whenever the mean is large
    /// against the spread, as it is after a convolution.
    /// `samples`, the whole batch's count when the caller already has it, saves a collective.
    public func channelMoments(_ x: Tensor, samples: Int? = nil) -> (mean: Tensor, variance: Tensor) {
        let total = samples ?? globalCount(x.shape[0])
        if total == x.shape[0] { return x.channelMoments() }
        let perChannel = Float(total * x.shape[2] * x.shape[3])
        let plain = x.plain()
        let mean = sumOverRanks(plain.sum(axes: [0, 2, 3])) / perChannel
        let deviations = plain - mean.reshaped([1, x.shape[1], 1, 1])
        return (mean, sumOverRanks(deviations.squared().sum(axes: [0, 2, 3])) / perChannel)
    }
}
