import Distillation
import Distributed
import Foundation
import NeuralNetwork
import TensorEngine

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

/// Every batch-coupled loss on this rank's share of a 7-sample batch (repeated labels, an
/// uneven split) through RankBatch, gradients averaged over ranks, against the same
/// losses on the whole batch in one process.
@MainActor func checkBatchScope() {
    let samples = 7, width = 5, classes = 3
    let x = Tensor.normal([samples, width], generator: Philox(seed: 11))
    let teacherWeights = Tensor.normal([width, classes], generator: Philox(seed: 12))
    let labels = [0, 1, 1, 2, 0, 2, 1]

    func losses(_ scope: any BatchScope, rows: Range<Int>) -> (loss: Float, gradient: [Float]) {
        let studentWeights = Tensor.normal([width, classes], generator: Philox(seed: 13))
        studentWeights.requiresGrad = true
        let local = Tensor(shape: [rows.count, width], values: Array(x.toArray()[(rows.lowerBound * width)..<(rows.upperBound * width)]))
        let t = Tensor.matmul(local, teacherWeights), s = Tensor.matmul(local, studentWeights)
        let terms = DistillationLosses(scope: scope)
        let localLabels = Array(labels[rows])
        let parts: [Tensor] = [terms.kd(teacher: t, student: s), terms.logL2(teacher: t, student: s),
                               terms.crossEntropy(s, labels: localLabels), terms.informationEntropy(teacher: s),
                               terms.contrastive(teacherFeatures: t, studentFeatures: s, labels: localLabels)]
        let loss = parts.dropFirst().reduce(parts[0]) { $0 + $1 }
        loss.backward()
        return (loss.item, studentWeights.grad!.toArray())
    }

    let whole = losses(LocalBatch.shared, rows: 0..<samples)
    var (loss, gradient) = losses(RankBatch(world), rows: world.share(of: samples))
    world.allReduceSum(&gradient)
    gradient = gradient.map { $0 / Float(world.size) }
    check(abs(loss - whole.loss) <= 1e-5 * max(1, abs(whole.loss)), "loss \(loss) vs \(whole.loss) on the whole batch")
    let worst = zip(gradient, whole.gradient).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    check(worst <= 1e-5, "gradient differs from the whole batch's by \(worst) (relative)")
}

let checks: [String: @MainActor () -> Void] = ["collectives": checkCollectives, "batch-scope": checkBatchScope]
let name = CommandLine.arguments.dropFirst().first ?? ""
guard let run = checks[name] else {
    print("usage: MPIChecks \(checks.keys.sorted().joined(separator: "|"))")
    exit(2)
}
run()
print("rank \(world.rank) of \(world.size) (local \(world.localRank)): \(name) \(failures == 0 ? "ok" : "FAILED")")
exit(failures == 0 ? 0 : 1)
