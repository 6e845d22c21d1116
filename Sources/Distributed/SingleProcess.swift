import Foundation

/// One rank holding the whole batch: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localRank: Int { 0 }
    public var description: String { "single process" }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) {}
    public func allReduceMax(_ values: UnsafeMutableBufferPointer<Double>) {}

    public func allGather(_ values: [Float], counts: [Int]) -> [Float] {
        precondition(counts == [values.count], "a single process gathers its own \(values.count) values, not \(counts)")
        return values
    }

    public func reduceScatterSum(_ values: [Float], counts: [Int]) -> [Float] {
        precondition(counts == [values.count], "a single process keeps all \(values.count) values, not \(counts)")
        return values
    }

    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) {}
    public func broadcast(_ values: UnsafeMutableBufferPointer<Int64>, root: Int) {}
    public func barrier() {}
    public func abort(code: Int32) -> Never { exit(code) }
    public func everyRankFails(waitingAtMost seconds: Double) -> Bool { true }
}
