import CMPI
import Foundation
import NeuralNetwork

/// The ranks of an MPI job (Open MPI). A failed collective ends the whole job with the
/// failing call and MPI's reason: a rank cannot continue alone.
public final class MPICommunicator: Communicator {
    public let rank: Int, size: Int, localRank: Int
    public let host: String
    private let world: MPI_Comm
    /// A copy of the world for the failure agreement alone, so that it cannot match a
    /// collective of the work that other ranks are waiting in.
    private let failures: MPI_Comm

    /// Initialises MPI once for the process (only the main thread calls MPI) and finalises
    /// it at exit.
    public static func initialize() -> MPICommunicator {
        var provided: Int32 = 0
        var argc: Int32 = 0
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let status = MPI_Init_thread(&argc, &argv, dfkd_mpi_thread_funneled(), &provided)
        guard status == dfkd_mpi_success() else {
            FileHandle.standardError.write(Data("MPI_Init_thread failed with code \(status)\n".utf8))
            exit(1)
        }
        _ = dfkd_mpi_errors_return_on_world()
        atexit { MPI_Finalize() }
        return MPICommunicator()
    }

    private init() {
        world = dfkd_mpi_comm_world()
        var copy: MPI_Comm? = dfkd_mpi_comm_null()
        MPI_Comm_dup(world, &copy)
        failures = copy!
        var value: Int32 = 0
        MPI_Comm_rank(world, &value)
        rank = Int(value)
        MPI_Comm_size(world, &value)
        size = Int(value)
        var local: MPI_Comm? = dfkd_mpi_comm_null()
        MPI_Comm_split_type(world, dfkd_mpi_comm_type_shared(), Int32(rank), dfkd_mpi_info_null(), &local)
        MPI_Comm_rank(local, &value)
        localRank = Int(value)
        MPI_Comm_free(&local)
        // The kernel's name for the host: a resolver lookup could stall where no DNS answers.
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { "MPI rank \(rank) of \(size) on \(host)" }

    private func check(_ status: Int32, _ call: String) {
        guard status != dfkd_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: 1024)
        var length: Int32 = 0
        MPI_Error_string(status, &text, &length)
        let reason = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        FileHandle.standardError.write(Data("\(description): \(call) failed: \(reason)\n".utf8))
        MPI_Abort(world, 1)
        exit(1)
    }

    /// A collective inside a pass one rank runs alone would wait for ranks that never come:
    /// a defect, stopped here with its place instead of hanging the job.
    private func requireEveryRank() {
        precondition(!RankLocalPass.isActive, "\(description): a collective inside a one-rank pass (RankLocalPass.run)")
    }

    private static func count(_ n: Int) -> Int32 {
        precondition(n <= Int(Int32.max), "a collective of \(n) values exceeds MPI's count range")
        return Int32(n)
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        requireEveryRank()
        check(MPI_Allreduce(dfkd_mpi_in_place(), values.baseAddress, Self.count(values.count), dfkd_mpi_float(), dfkd_mpi_sum(), world),
              "MPI_Allreduce(sum) of \(values.count) floats")
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        requireEveryRank()
        check(MPI_Allreduce(dfkd_mpi_in_place(), values.baseAddress, Self.count(values.count), dfkd_mpi_double(), dfkd_mpi_sum(), world),
              "MPI_Allreduce(sum) of \(values.count) doubles")
    }

    public func allReduceMax(_ values: UnsafeMutableBufferPointer<Double>) {
        requireEveryRank()
        check(MPI_Allreduce(dfkd_mpi_in_place(), values.baseAddress, Self.count(values.count), dfkd_mpi_double(), dfkd_mpi_max(), world),
              "MPI_Allreduce(max) of \(values.count) doubles")
    }

    private static func displacements(_ counts: [Int]) -> [Int32] {
        var offsets: [Int32] = [], total = 0
        for count in counts {
            offsets.append(Self.count(total))
            total += count
        }
        return offsets
    }

    public func allGather(_ values: [Float], counts: [Int]) -> [Float] {
        requireEveryRank()
        precondition(counts.count == size && counts[rank] == values.count, "rank \(rank) gathers \(values.count) values, counts say \(counts)")
        var result = [Float](repeating: 0, count: counts.reduce(0, +))
        let counts32 = counts.map(Self.count), offsets = Self.displacements(counts)
        check(MPI_Allgatherv(values, Self.count(values.count), dfkd_mpi_float(), &result, counts32, offsets, dfkd_mpi_float(), world),
              "MPI_Allgatherv of \(values.count) floats")
        return result
    }

    public func reduceScatterSum(_ values: [Float], counts: [Int]) -> [Float] {
        requireEveryRank()
        precondition(counts.count == size && counts.reduce(0, +) == values.count, "rank \(rank) scatters \(values.count) values as \(counts)")
        var result = [Float](repeating: 0, count: counts[rank])
        check(MPI_Reduce_scatter(values, &result, counts.map(Self.count), dfkd_mpi_float(), dfkd_mpi_sum(), world),
              "MPI_Reduce_scatter of \(values.count) floats")
        return result
    }

    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) {
        requireEveryRank()
        check(MPI_Bcast(values.baseAddress, Self.count(values.count), dfkd_mpi_float(), Int32(root), world), "MPI_Bcast of \(values.count) floats")
    }

    public func broadcast(_ values: UnsafeMutableBufferPointer<Int64>, root: Int) {
        requireEveryRank()
        check(MPI_Bcast(values.baseAddress, Self.count(values.count), dfkd_mpi_int64(), Int32(root), world), "MPI_Bcast of \(values.count) int64")
    }

    public func barrier() {
        requireEveryRank()
        check(MPI_Barrier(world), "MPI_Barrier")
    }

    public func everyRankFails(waitingAtMost seconds: Double) -> Bool {
        dfkd_mpi_barrier_within(failures, seconds) != 0
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }
}
