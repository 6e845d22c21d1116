import ArgumentParser
import Distillation
import Distributed
import Foundation
import NeuralNetwork
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
    @OptionGroup var options: BenchOptions

    func run() throws {
        if ranks {
            try RankScalingBench(batch: batch, rounds: rounds, options: options).run()
        } else {
            measure()
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

    private func measure() {
        let world = World.communicator
        let timed = TimedCommunicator(independent ? SingleProcess() : world)
        let localBatch = independent ? world.share(of: batch).count : batch
        let run = Self.makeRun(batch: localBatch, communicator: timed)
        world.barrier()
        timed.resetTime()
        var epoch = 0
        let start = Timing.now()
        let seconds = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations) {
            _ = run.runEpoch(epoch)
            epoch += 1
        }
        let elapsed = Timing.now() - start
        // Every rank's figures, in rank order: [seconds per iteration, communication share, peak MiB] each.
        var figures = [Double](repeating: 0, count: 3 * world.size)
        figures[3 * world.rank] = seconds
        figures[3 * world.rank + 1] = timed.seconds / elapsed
        figures[3 * world.rank + 2] = Timing.peakResidentMiB()
        world.allReduceSum(&figures)
        guard world.isRoot else { return }
        let slowest = stride(from: 0, to: figures.count, by: 3).map { figures[$0] }.max() ?? seconds
        let communication = stride(from: 1, to: figures.count, by: 3).map { figures[$0] }
        let memory = stride(from: 2, to: figures.count, by: 3).map { figures[$0] }
        let images = Double(batch * (1 + Self.studentSteps))
        print(String(format: "distill %d rank(s) x %d thread(s)%@, batch %d: %.1f images/s (%.0f ms per iteration), "
                     + "communication %.1f%% of the time, peak RSS %@ MiB",
                     world.size, Runtime.threadCount, independent ? " without communication" : "", batch, images / slowest,
                     slowest * 1000, 100 * (communication.max() ?? 0), memory.map { String(format: "%.0f", $0) }.joined(separator: "/")))
        if options.json {
            printJSON([
                "ranks": world.size, "threads": Runtime.threadCount, "independent": independent, "batch": batch,
                "images_per_second": images / slowest, "iteration_ms": slowest * 1000,
                "communication_share": communication, "peak_rss_mib": memory,
            ])
        }
    }
}
