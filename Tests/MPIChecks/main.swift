import Distributed
import Foundation

// Multi-rank checks, run by DistributedTests under mpirun (and alone, as the single
// process). Each check compares a collective's result with the value every rank can
// compute on its own; a mismatch prints the rank and the difference and exits 1.

let world = World.communicator
var failures = 0

@MainActor func expect(_ found: [Float], _ expected: [Float], _ what: String) {
    if found != expected {
        print("rank \(world.rank): \(what): found \(found.prefix(8)), expected \(expected.prefix(8))")
        failures += 1
    }
}

@MainActor func checkCollectives() {
    let (rank, size) = (world.rank, world.size)
    var summed = (0..<5).map { Float(($0 + 1) * (rank + 1)) }
    world.allReduceSum(&summed)
    expect(summed, (0..<5).map { Float(($0 + 1) * size * (size + 1) / 2) }, "allReduceSum")

    var maxima: [Double] = [Double(rank), -Double(rank)]
    maxima.withUnsafeMutableBufferPointer { world.allReduceMax($0) }
    expect(maxima.map(Float.init), [Float(size - 1), 0], "allReduceMax")

    // Unequal shares, as when the global batch does not divide by the rank count.
    let counts = (0..<size).map { $0 + 1 }
    check(world.allGatherCounts(rank + 1) == counts, "allGatherCounts")
    let gathered = world.allGather((0...rank).map { Float(rank * 10 + $0) }, counts: counts)
    expect(gathered, (0..<size).flatMap { r in (0...r).map { Float(r * 10 + $0) } }, "allGather")

    let total = counts.reduce(0, +)
    let scattered = world.reduceScatterSum((0..<total).map { Float($0 + rank) }, counts: counts)
    let start = counts[..<rank].reduce(0, +)
    expect(scattered, (start..<start + counts[rank]).map { Float(size * $0 + size * (size - 1) / 2) }, "reduceScatterSum")

    let root = size - 1
    var broadcastValues = [Float](repeating: Float(rank), count: 3)
    broadcastValues.withUnsafeMutableBufferPointer { world.broadcast($0, root: root) }
    expect(broadcastValues, [Float](repeating: Float(root), count: 3), "broadcast")

    let shares = (0..<size).map { type(of: world).share(of: 10, rank: $0, size: size) }
    check(shares.first?.lowerBound == 0 && shares.last?.upperBound == 10
             && zip(shares, shares.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "shares cover the batch")
    world.barrier()
}

@MainActor func check(_ condition: Bool, _ what: String) {
    if !condition {
        print("rank \(world.rank): \(what) failed")
        failures += 1
    }
}

let checks: [String: @MainActor () -> Void] = ["collectives": checkCollectives]
let name = CommandLine.arguments.dropFirst().first ?? ""
guard let run = checks[name] else {
    print("usage: MPIChecks \(checks.keys.sorted().joined(separator: "|"))")
    exit(2)
}
run()
print("rank \(world.rank) of \(world.size) (local \(world.localRank)): \(name) \(failures == 0 ? "ok" : "FAILED")")
exit(failures == 0 ? 0 : 1)
