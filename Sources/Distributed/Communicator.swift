import Foundation

/// The collectives a data-parallel run needs, over every rank of the job. Buffers hold the
/// same number of values on every rank unless a function says otherwise; results come in
/// rank order. One implementation runs over MPI, one is the single process, so every
/// command works with and without mpirun.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// The rank among the ranks of this host (for binding and per-host files).
    var localRank: Int { get }
    /// A name for messages: "MPI rank 1 of 2 on host-a" or "single process".
    var description: String { get }

    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>)
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>)
    func allReduceMax(_ values: UnsafeMutableBufferPointer<Double>)
    /// Every rank's `values`, concatenated in rank order; `counts[r]` is rank r's count.
    func allGather(_ values: [Float], counts: [Int]) -> [Float]
    /// Sums `values` over ranks and returns this rank's block of the sum; `counts[r]` is the
    /// length of rank r's block, and `values.count` their total.
    func reduceScatterSum(_ values: [Float], counts: [Int]) -> [Float]
    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int)
    func broadcast(_ values: UnsafeMutableBufferPointer<Int64>, root: Int)
    func barrier()
    /// Ends every rank of the job with `code`.
    func abort(code: Int32) -> Never
    /// Called by a rank that failed: whether every rank fails too and says so within
    /// `seconds` (the same bad input reaches them all), so that one of them reports it and
    /// all exit alike. False means the others are still working; the caller then aborts.
    /// It never touches the collectives of the work, which the others may be inside.
    func everyRankFails(waitingAtMost seconds: Double) -> Bool
}

public extension Communicator {
    var isRoot: Bool { rank == 0 }

    func allReduceSum(_ values: inout [Float]) { values.withUnsafeMutableBufferPointer { allReduceSum($0) } }
    func allReduceSum(_ values: inout [Double]) { values.withUnsafeMutableBufferPointer { allReduceSum($0) } }

    /// Every rank's `count`, in rank order.
    func allGatherCounts(_ count: Int) -> [Int] {
        var counts = [Double](repeating: 0, count: size)
        counts[rank] = Double(count)
        allReduceSum(&counts)
        return counts.map { Int($0) }
    }

    /// The contiguous share of `total` items that rank `rank` of `size` owns: the first
    /// `total % size` ranks take one more. Shares depend only on (total, size, rank).
    static func share(of total: Int, rank: Int, size: Int) -> Range<Int> {
        let base = total / size, extra = total % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    func share(of total: Int) -> Range<Int> { Self.share(of: total, rank: rank, size: size) }
}

/// The communicator of the job this process belongs to: MPI when started by mpirun or srun
/// (their environment says so), else the single process. Made once per process.
public enum World {
    nonisolated(unsafe) private static var made: Communicator?

    public static var communicator: Communicator {
        if let made { return made }
        let communicator: Communicator = startedByMPI ? MPICommunicator.initialize() : SingleProcess()
        made = communicator
        return communicator
    }

    /// Whether a process manager started this process as an MPI rank.
    public static var startedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"].contains { environment[$0] != nil }
    }
}

public extension Communicator {
    /// `bytes` from rank `root` on every rank (what the other ranks pass is ignored): the
    /// length, then the bytes packed in 64-bit words.
    func broadcast(bytes: [UInt8], root: Int = 0) -> [UInt8] {
        guard size > 1 else { return bytes }
        var length = [Int64(rank == root ? bytes.count : 0)]
        length.withUnsafeMutableBufferPointer { broadcast($0, root: root) }
        let count = Int(length[0])
        var words = [Int64](repeating: 0, count: (count + 7) / 8)
        if rank == root { words.withUnsafeMutableBytes { $0.copyBytes(from: bytes) } }
        words.withUnsafeMutableBufferPointer { broadcast($0, root: root) }
        return words.withUnsafeBytes { Array($0.prefix(count)) }
    }
}

public extension Communicator {
    /// Every rank's `text`, in rank order: the UTF-8 bytes of each rank placed at its offset
    /// and summed, exactly, as doubles.
    func allGather(text: String) -> [String] {
        let bytes = Array(text.utf8)
        guard size > 1 else { return [text] }
        let counts = allGatherCounts(bytes.count)
        let offset = counts.prefix(rank).reduce(0, +)
        var buffer = [Double](repeating: 0, count: counts.reduce(0, +))
        for (index, byte) in bytes.enumerated() { buffer[offset + index] = Double(byte) }
        allReduceSum(&buffer)
        var start = 0
        return counts.map { count in
            defer { start += count }
            return String(decoding: buffer[start..<(start + count)].map { UInt8($0) }, as: UTF8.self)
        }
    }
}
