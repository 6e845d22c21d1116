import NeuralNetwork
import TensorEngine

/// The batch of a data-parallel run: each rank holds its share of the rows, and every
/// reduction over the batch spans all ranks. Backward follows BatchScope's contract: the
/// gradient of a sum over ranks is all-reduced, that of gathered rows is reduce-scattered
/// back to their rank, and parameter gradients are then averaged over ranks; together
/// they give every rank the gradient one process would compute on the whole batch. In a
/// `RankLocalPass` it is the batch of this rank alone.
public final class RankBatch: BatchScope {
    public let communicator: Communicator

    public init(_ communicator: Communicator) { self.communicator = communicator }

    public func sumOverRanks(_ partial: Tensor) -> Tensor {
        if RankLocalPass.isActive { return partial }
        let communicator = communicator
        return partial.customOp("sum over ranks", outputShape: partial.shape, forward: { values in
            var values = values
            communicator.allReduceSum(&values)
            return values
        }, backward: { gradient in
            var gradient = gradient
            communicator.allReduceSum(&gradient)
            return gradient
        })
    }

    public func gatherRows(_ local: Tensor) -> Tensor {
        if RankLocalPass.isActive { return local }
        let rowSize = local.shape.dropFirst().reduce(1, *)
        let rows = communicator.allGatherCounts(local.shape[0])
        let counts = rows.map { $0 * rowSize }
        let communicator = communicator
        return local.customOp("gather rows over ranks", outputShape: [rows.reduce(0, +)] + local.shape.dropFirst(),
                              forward: { communicator.allGather($0, counts: counts) },
                              backward: { communicator.reduceScatterSum($0, counts: counts) })
    }

    public func globalCount(_ localCount: Int) -> Int {
        RankLocalPass.isActive ? localCount : communicator.allGatherCounts(localCount).reduce(0, +)
    }

    public func sumOverRanks(_ values: [Double]) -> [Double] {
        if RankLocalPass.isActive { return values }
        var values = values
        communicator.allReduceSum(&values)
        return values
    }
}
