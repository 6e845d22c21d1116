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
    /// The element-wise sum of plain values over all ranks (not differentiable).
    func sumOverRanks(_ values: [Double]) -> [Double]
}

/// Work one rank does alone while the others go on (a sample grid, an evaluation or export
/// on rank 0): inside `run`, every batch scope acts as this process's own, so no layer of any
/// model can enter a collective the other ranks never join. It is a property of the pass,
/// not of each model's layers, so nothing has to be reset layer by layer and remembered.
public enum RankLocalPass {
    @TaskLocal private static var active = false

    public static var isActive: Bool { active }

    public static func run<Result>(_ body: () throws -> Result) rethrows -> Result {
        try $active.withValue(true) { try body() }
    }
}

/// The scope of a single process.
public final class LocalBatch: BatchScope, Sendable {
    public static let shared = LocalBatch()
    public init() {}
    public func sumOverRanks(_ partial: Tensor) -> Tensor { partial }
    public func gatherRows(_ local: Tensor) -> Tensor { local }
    public func globalCount(_ localCount: Int) -> Int { localCount }
    public func sumOverRanks(_ values: [Double]) -> [Double] { values }
}

extension BatchScope {
    /// The mean over the whole batch of per-sample values (a tensor whose first axis is the
    /// batch): sum here, sum over ranks, divide by the global count.
    public func batchMean(_ perSample: Tensor) -> Tensor {
        batchMean(sum: perSample.sum(), samples: perSample.shape[0])
    }

    /// The mean over the whole batch, given the sum over this rank's `samples` samples.
    public func batchMean(sum: Tensor, samples: Int) -> Tensor {
        sumOverRanks(sum) / Float(globalCount(samples))
    }

    /// The mean over the whole batch of each column of an N x F tensor: an F vector.
    public func columnMean(_ rows: Tensor) -> Tensor {
        sumOverRanks(rows.sum(axes: [0])) / Float(globalCount(rows.shape[0]))
    }

    /// The batch `localCount` samples of this rank belong to, for batch-norm statistics:
    /// nil when this rank holds the whole batch.
    public func partition(localCount: Int) -> BatchPartition? {
        let total = globalCount(localCount)
        return total == localCount ? nil : BatchPartition(samples: total, sum: sumOverRanks)
    }
}
