import ArgumentParser
import Distillation
import Distributed
import Foundation
import NeuralNetwork
import Storage
import TensorEngine
import Training

/// Images per second of CPSC-DFKD iterations over the ranks of this job (or alone), and how
/// the time splits between computation and communication.
struct BenchDistill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Images per second of CPSC-DFKD iterations (1 generator step + 5 student steps, WRN-16-2 teacher, WRN-16-1 student).",
        discussion: """
        Run alone or under mpirun, it measures this job: the global batch is divided over the \
        ranks. --independent runs each rank's share with no communication at all (the ceiling \
        of the host: what the same compute would reach if collectives were free). --ranks runs \
        1 rank x 1 thread, 2 ranks x 1 thread, their independent ceiling and 1 rank x 2 threads \
        in this one invocation, interleaved, and reports the speedups and the scaling \
        efficiency (2-rank speedup / ceiling speedup). An image is one generated image through \
        one step: an iteration processes (1 + 5) x batch of them.
        """)

    @Option(help: "Global batch size.") var batch = 128
    @Flag(help: "Each rank runs its share alone, with no collective (the no-communication ceiling).") var independent = false
    @Flag(help: "Run every configuration (1x1, 2x1, 2x1 without communication, 1x2) as separate jobs and compare them.")
    var ranks = false
    @Option(help: "Rounds of the configurations (--ranks); each configuration's best round is reported.") var rounds = 2
    @Flag(help: "Also time iterations that keep every generated batch in sample shards against iterations that keep none, interleaved.")
    var samples = false
    @Flag(help: "Also time what student-ema adds to an iteration (an update of the weight average per student step) and what the epoch's within-class diversity figure costs, against an iteration.")
    var averaging = false
    @OptionGroup var options: BenchOptions

    func run() throws {
        if ranks {
            try RankScalingBench(batch: batch, rounds: rounds, options: options).run()
        } else {
            try measure()
        }
    }

    private static let studentSteps = 5

    /// The published CPSC-DFKD iteration on random networks (speed does not depend on training).
    private static func makeRun(batch: Int, communicator: Communicator) -> DistillationRun {
        var configuration = DistillationConfiguration(method: .cpsc)
        configuration.batchSize = batch
        configuration.studentSteps = studentSteps
        configuration.iterationsPerEpoch = 1
        configuration.epochs = 1_000_000
        let teacher = WideResNet(depth: 16, widen: 2, classes: 10).initialize(seed: 1)
        let student = WideResNet(depth: 16, widen: 1, classes: 10).initialize(seed: 2)
        return DistillationRun(teacher: teacher, student: student, imageShape: [3, 32, 32], classes: 10,
                               configuration: configuration, communicator: communicator)
    }

    /// Median seconds of copying the run's state (what the ranks wait for) and of writing it
    /// as a checkpoint file (atomically, read back and checked: what the writer thread does).
    private func measureCheckpoint(_ run: DistillationRun) throws -> (copy: Double, write: Double, mebibytes: Double) {
        let directory = NSTemporaryDirectory() + "dfkd-bench-checkpoint-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var state = StateArchive()
        let copy = Timing.secondsPerIteration(repeats: 5, iterations: 1) {
            state = StateArchive()
            run.archive(into: &state)
        }
        let path = directory + "/checkpoint.h5"
        var failure: Error?
        let write = Timing.secondsPerIteration(repeats: 3, iterations: 1) {
            do { try CheckpointFile.write(CheckpointFile.Contents(attributes: ["kind": .text("bench")], state: state), to: path) } catch { failure = error }
        }
        if let failure { throw failure }
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return (copy, write, Double(bytes) / 1_048_576)
    }

    private func measure() throws {
        let world = World.communicator
        let timed = TimedCommunicator(independent ? SingleProcess() : world)
        let localBatch = independent ? world.share(of: batch).count : batch
        let run = Self.makeRun(batch: localBatch, communicator: timed)
        world.barrier()
        timed.resetTime()
        var epoch = 0
        let start = Timing.now()
        let seconds = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations) {
            _ = try! run.runEpoch(epoch)
            epoch += 1
        }
        let elapsed = Timing.now() - start
        // Every rank's figures, in rank order: [seconds per iteration, communication share, peak MiB] each.
        var figures = [Double](repeating: 0, count: 3 * world.size)
        figures[3 * world.rank] = seconds
        figures[3 * world.rank + 1] = timed.seconds / elapsed
        figures[3 * world.rank + 2] = Timing.peakResidentMiB()
        world.allReduceSum(&figures)
        let shards = samples ? try measureShards(run, after: &epoch) : nil
        guard world.isRoot else { return }
        let checkpoint = try measureCheckpoint(run)
        let extras = averaging ? measureAveraging(run) : nil
        let slowest = stride(from: 0, to: figures.count, by: 3).map { figures[$0] }.max() ?? seconds
        let communication = stride(from: 1, to: figures.count, by: 3).map { figures[$0] }
        let memory = stride(from: 2, to: figures.count, by: 3).map { figures[$0] }
        let images = Double(batch * (1 + Self.studentSteps))
        print(String(format: "distill %d rank(s) x %d thread(s)%@, batch %d: %.1f images/s (%.0f ms per iteration), "
                     + "communication %.1f%% of the time, peak RSS %@ MiB",
                     world.size, Runtime.threadCount, independent ? " without communication" : "", batch, images / slowest,
                     slowest * 1000, 100 * (communication.max() ?? 0), memory.map { String(format: "%.0f", $0) }.joined(separator: "/")))
        print(String(format: "checkpoint of %.1f MiB: the ranks wait %.1f ms for the state's copy (%.2f%% of an iteration); "
                     + "the writer thread takes %.0f ms more (%.1f%% of an iteration)", checkpoint.mebibytes, checkpoint.copy * 1000,
                     100 * checkpoint.copy / slowest, checkpoint.write * 1000, 100 * checkpoint.write / slowest))
        if let shards {
            print(String(format: "sample shards of every batch (%.1f MiB per iteration on disk): %.1f ms per iteration with them, "
                         + "%.1f ms without, ratio %.4f; a checkpoint waits %.0f ms for the open shard to close (%.1f%% of an iteration)",
                         shards.mebibytesPerIteration, shards.with * 1000, shards.without * 1000, shards.with / shards.without,
                         shards.commit * 1000, 100 * shards.commit / shards.without))
        }
        if let extras {
            print(String(format: "student-ema: %d updates of the WRN-16-1 average take %.2f ms, %.2f%% of an iteration; "
                         + "the diversity figure of 160 generated images takes %.1f ms once per epoch (%.1f%% of one iteration)",
                         Self.studentSteps, extras.updates * 1000, 100 * extras.updates / slowest, extras.diversity * 1000,
                         100 * extras.diversity / slowest))
        }
        if options.json {
            var figures: [String: Any] = shards.map { ["shards_iteration_ms": $0.with * 1000, "no_shards_iteration_ms": $0.without * 1000,
                                                       "shards_ratio": $0.with / $0.without, "shards_commit_ms": $0.commit * 1000,
                                                       "shards_mib_per_iteration": $0.mebibytesPerIteration] } ?? [:]
            figures.merge([

                "ranks": world.size, "threads": Runtime.threadCount, "independent": independent, "batch": batch,
                "images_per_second": images / slowest, "iteration_ms": slowest * 1000,
                "communication_share": communication, "peak_rss_mib": memory,
                "checkpoint_mib": checkpoint.mebibytes, "checkpoint_copy_ms": checkpoint.copy * 1000,
                "checkpoint_write_ms": checkpoint.write * 1000, "checkpoint_copy_share": checkpoint.copy / slowest,
                "checkpoint_write_share": checkpoint.write / slowest,
            ]) { $1 }
            if let extras {
                figures["average_updates_ms"] = extras.updates * 1000
                figures["average_updates_share"] = extras.updates / slowest
                figures["diversity_ms"] = extras.diversity * 1000
            }
            printJSON(figures)
        }
    }

    /// Median seconds of an iteration's updates of a weight average of the student (one per
    /// student step), and of the diversity figure a run takes after each epoch.
    private func measureAveraging(_ run: DistillationRun) -> (updates: Double, diversity: Double) {
        let average = WeightAverage(of: run.student, into: WideResNet(depth: 16, widen: 1, classes: 10), decay: 0.995)
        let updates = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations) {
            for _ in 0..<Self.studentSteps { average.update() }
        }
        let diversity = Timing.secondsPerIteration(repeats: options.repeats, iterations: 1) {
            let (images, rows) = SampleGrid.draw(run.generator, teacher: run.teacher, perClass: 16, seed: 0)
            _ = WithinClassDiversity.of(images, labels: rows)
        }
        return (updates, diversity)
    }

    /// Median seconds per iteration keeping every generated batch in sample shards (the
    /// hand-over to the writer thread, which compresses and writes beside the training) and
    /// keeping none, in rounds that alternate which goes first; and the median wait at the
    /// round's end for the open shard to close, as a checkpoint waits.
    private func measureShards(_ run: DistillationRun, after epoch: inout Int) throws
        -> (with: Double, without: Double, commit: Double, mebibytesPerIteration: Double) {
        let directory = NSTemporaryDirectory() + "dfkd-bench-samples-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = SampleShardWriter(directory: directory, rank: run.communicator.rank, imageShape: run.generatorImageShape,
                                       classes: run.generator.shape.classes, attributes: ["method": .text("cpsc")])
        var with: [Double] = [], without: [Double] = [], commits: [Double] = []
        for round in 0..<options.repeats {
            for keeping in round % 2 == 0 ? [false, true] : [true, false] {
                let start = Timing.now()
                for _ in 0..<options.iterations {
                    _ = try run.runEpoch(epoch)
                    if keeping { try writer.append(run.lastGeneratedBatch(epoch: epoch, iteration: 0)!) }
                    epoch += 1
                }
                let seconds = (Timing.now() - start) / Double(options.iterations)
                if keeping {
                    with.append(seconds)
                    let committing = Timing.now()
                    try writer.commit()
                    commits.append(Timing.now() - committing)
                } else {
                    without.append(seconds)
                }
            }
        }
        let bytes = try FileManager.default.contentsOfDirectory(atPath: directory).reduce(0) { total, name in
            total + ((try FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0)
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return (median(with), median(without), median(commits), Double(bytes) / 1_048_576 / Double(options.repeats * options.iterations))
    }
}
