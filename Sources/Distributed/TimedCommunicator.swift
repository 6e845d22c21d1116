import Foundation

/// A communicator that counts the wall time spent inside its collectives (waiting for the
/// other ranks included), for benchmarks: how much of a step is communication.
public final class TimedCommunicator: Communicator {
    public let base: Communicator
    /// Seconds spent in collectives since creation or the last `resetTime()`.
    public private(set) var seconds = 0.0

    public init(_ base: Communicator) { self.base = base }

    public func resetTime() { seconds = 0 }

    private func timed<Result>(_ body: () -> Result) -> Result {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let result = body()
        clock_gettime(CLOCK_MONOTONIC, &end)
        seconds += Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9
        return result
    }

    public var rank: Int { base.rank }
    public var size: Int { base.size }
    public var localRank: Int { base.localRank }
    public var description: String { base.description }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) { timed { base.allReduceSum(values) } }
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) { timed { base.allReduceSum(values) } }
    public func allReduceMax(_ values: UnsafeMutableBufferPointer<Double>) { timed { base.allReduceMax(values) } }
    public func allGather(_ values: [Float], counts: [Int]) -> [Float] { timed { base.allGather(values, counts: counts) } }
    public func reduceScatterSum(_ values: [Float], counts: [Int]) -> [Float] { timed { base.reduceScatterSum(values, counts: counts) } }
    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) { timed { base.broadcast(values, root: root) } }
    public func broadcast(_ values: UnsafeMutableBufferPointer<Int64>, root: Int) { timed { base.broadcast(values, root: root) } }
    public func barrier() { timed { base.barrier() } }
    public func abort(code: Int32) -> Never { base.abort(code: code) }
    public func everyRankFails(waitingAtMost seconds: Double) -> Bool { base.everyRankFails(waitingAtMost: seconds) }
}
