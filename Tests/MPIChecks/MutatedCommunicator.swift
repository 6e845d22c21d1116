import Distributed

/// A communicator with one deliberate defect, to show that the N-ranks-equal-one-process
/// checks catch the faults they exist for (a check that passes under these is no check).
final class MutatedCommunicator: Communicator {
    enum Defect {
        /// The all-reduce of a gradient block does nothing: each rank steps on its own
        /// share's gradient (divided by the rank count) instead of the mean.
        case unaveragedGradients
        /// The last rank contributes nothing to the per-channel sums of batch statistics
        /// (synchronised batch norm, BN-statistics loss): they cover the other shares only.
        case droppedStatisticsShare
    }

    let base: Communicator
    let defect: Defect

    init(_ base: Communicator, _ defect: Defect) {
        self.base = base
        self.defect = defect
    }

    var rank: Int { base.rank }
    var size: Int { base.size }
    var localRank: Int { base.localRank }
    var description: String { base.description + " (mutated: \(defect))" }

    /// Gradient blocks are the only float all-reduces of thousands of values; loss sums
    /// over ranks have a few.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        if defect == .unaveragedGradients && values.count > 1000 { return }
        base.allReduceSum(values)
    }

    /// Batch statistics travel as 2C doubles; the per-rank counts (one value per rank) keep
    /// their true sums, so the shares still line up.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        if defect == .droppedStatisticsShare && values.count != size && rank == size - 1 {
            for i in values.indices { values[i] = 0 }
        }
        base.allReduceSum(values)
    }

    func allReduceMax(_ values: UnsafeMutableBufferPointer<Double>) { base.allReduceMax(values) }
    func allGather(_ values: [Float], counts: [Int]) -> [Float] { base.allGather(values, counts: counts) }
    func reduceScatterSum(_ values: [Float], counts: [Int]) -> [Float] { base.reduceScatterSum(values, counts: counts) }
    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) { base.broadcast(values, root: root) }
    func broadcast(_ values: UnsafeMutableBufferPointer<Int64>, root: Int) { base.broadcast(values, root: root) }
    func barrier() { base.barrier() }
    func abort(code: Int32) -> Never { base.abort(code: code) }
    func everyRankFails(waitingAtMost seconds: Double) -> Bool { base.everyRankFails(waitingAtMost: seconds) }
}
