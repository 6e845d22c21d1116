import Data
import Distributed
import Foundation
import NeuralNetwork
import Storage
import Training

/// How a distillation run is driven besides its method: budgets, outputs, checkpoints.
public struct DriverOptions: Sendable {
    /// Stop (resumable, exit 0) after the epoch during which this many minutes of this
    /// invocation passed.
    public var minutes: Double?
    /// A sample grid every this many epochs (and at the end); 0: only at the end.
    public var gridEvery = 5
    /// A checkpoint every this many iterations within an epoch (0: none within); one is
    /// always written at every epoch's end and at a stop.
    public var checkpointEvery = 0
    /// A checkpoint when this many minutes passed since the last one (0: off).
    public var checkpointMinutes = 10.0
    /// How many checkpoints to keep.
    public var keepCheckpoints = 2
    /// Keep the generated batch of every this many iterations in the sample shards (0: off).
    public var saveSamplesEvery = 0

    public init() {}
}

/// Where a run is: the epoch it is in and how many of that epoch's iterations are done (an
/// epoch's end, with its real-data iterations, evaluation and files, belongs to its last
/// iteration); the student's accuracies; the training seconds so far over every invocation.
public struct RunProgress: Equatable, Sendable {
    public var epoch = 0
    public var iteration = 0
    public var lastTop1 = Double.nan
    public var bestTop1 = -Double.infinity
    public var bestEpoch = 0
    /// The epoch whose student the run keeps as student.h5, chosen without real images (the
    /// last epoch's when the run keeps no probe bank), and its accuracy (reported, never used).
    public var pickedEpoch = 0
    public var pickedTop1 = Double.nan
    public var wallSeconds = 0.0

    public init() {}
}

/// How a run ended.
public struct DistillationOutcome: Sendable {
    public enum Ending: Sendable, Equatable {
        /// Every epoch ran.
        case finished
        /// `--minutes` ran out; the run can be continued with `--resume`.
        case budgetSpent
        /// A signal asked it to stop; it wrote a checkpoint and is resumable.
        case stopped
    }

    public var ending: Ending
    public var progress: RunProgress
    /// Epochs finished in all.
    public var epochsDone: Int
}

/// The epoch loop of `dfkd distill`: iterations of the method, then after each epoch the
/// evaluation, the metrics line, the student and generator files, the sample grids and a
/// checkpoint; checkpoints also every `checkpointEvery` iterations, every
/// `checkpointMinutes` and at a stop. Rank 0 writes; every rank runs the same loop.
public final class DistillationDriver {
    public let run: DistillationRun
    public let directory: RunDirectory
    public let options: DriverOptions
    public private(set) var progress: RunProgress
    public let checkpoints: CheckpointSeries
    private let teacherTop1: Double
    /// Real images that only report the student's accuracy; nil for a run that reads none.
    private let evaluationImages: ImageSet?
    private let normalization: Normalization
    private let real: BatchSource?
    private let studentDescription: ModelDescription
    /// What the command says of the run (settings, teacher, provenance), stored in every
    /// checkpoint beside the driver's own progress.
    private let identity: [String: CheckpointFile.Attribute]
    private let log: MetricsLog
    /// What a resume says of the metrics lines it found damaged and dropped; nil for none.
    public var metricsDamageWarning: String? { log.damageWarning }
    /// This rank's sample shards, when batches are kept.
    private let shards: SampleShardWriter?
    /// The within-class diversity of the evaluation images (rank 0), beside the generator's.
    public let realDiversity: Double?
    /// The within-class diversity of the generator's images after the last epoch (rank 0).
    public private(set) var sampleDiversity: Double?
    /// Chooses the student the run writes, without real images; nil for a run that keeps its
    /// last epoch's without a study (the default, and every run without a generator).
    public var selection: StudentSelection? { selections.first }
    /// `selection`, then with `selection-study` the other rules on the same bank, whose picks
    /// the metrics report beside it (`picked_epoch_by_rule`).
    private let selections: [StudentSelection]
    /// What the teacher sees in the generator's images after the last epoch, class by class.
    public private(set) var health: GenerationHealth?
    /// The run trains a generator (not on stored samples, not on noise images).
    private let generates: Bool
    private var communicator: Communicator { run.communicator }

    /// A run that starts at `progress` (a fresh one, or one restored from a checkpoint by
    /// `restore`), writing to `directory`.
    public init(run: DistillationRun, teacherTop1: Double, evaluationImages: ImageSet?, normalization: Normalization,
                real: BatchSource?, directory: RunDirectory, studentDescription: ModelDescription,
                identity: [String: CheckpointFile.Attribute], options: DriverOptions, selections: [StudentSelection] = [],
                resumingFrom checkpoint: CheckpointFile.Contents? = nil) throws {
        self.run = run
        self.teacherTop1 = teacherTop1
        self.evaluationImages = evaluationImages
        self.normalization = normalization
        self.real = real
        self.directory = directory
        self.studentDescription = studentDescription
        self.identity = identity
        self.options = options
        generates = run.storedSamples == nil && run.configuration.method != .noise
        self.selections = generates ? selections : []
        precondition(Set(self.selections.map { ObjectIdentifier($0.bank) }).count <= 1, "the selections of a run share one probe bank")
        checkpoints = CheckpointSeries(directory: directory.checkpoints, keep: options.keepCheckpoints)
        progress = RunProgress()
        if let checkpoint {
            try run.restore(from: checkpoint.state)
            // A checkpoint of a version without probes leaves the bank empty: the pick is among the epochs to come.
            if let bank = self.selections.first?.bank, checkpoint.state[Self.probesGroup + "/offered"] != nil {
                try bank.restore(from: checkpoint.state, group: Self.probesGroup)
            }
            for selection in self.selections { try selection.restore(from: checkpoint.state, group: Self.selectionGroup(selection.rule)) }
            progress = try Self.progress(of: checkpoint)
        }
        let writes = run.communicator.isRoot
        if writes {
            try Directories.create(directory.path)
            checkpoints.removeInterruptedWrites()
            directory.removeStaleTemporaries()
        }
        log = MetricsLog(path: writes ? directory.metrics : nil, continuingAfter: checkpoint == nil ? nil : progress.epoch)
        realDiversity = writes ? evaluationImages.flatMap {
            WithinClassDiversity.of($0, normalization: normalization, perClass: Self.diversityDraws(classes: $0.classes))
        } : nil
        if options.saveSamplesEvery > 0 {
            let c = run.configuration
            var attributes = identity.filter { ["method", "teacher", "teacher_crc32", "provenance_started"].contains($0.key) }
            attributes["seed"] = .integer(Int64(c.seed))
            attributes["world_size"] = .integer(Int64(run.communicator.size))
            attributes["batch"] = .integer(Int64(c.batchSize))
            attributes["normalization_mean"] = .text(normalization.mean.map { "\($0)" }.joined(separator: " "))
            attributes["normalization_std"] = .text(normalization.std.map { "\($0)" }.joined(separator: " "))
            shards = SampleShardWriter(directory: directory.samples, rank: run.communicator.rank, imageShape: run.generatorImageShape,
                                       classes: run.generator.shape.classes, attributes: attributes)
            if writes {
                try Directories.create(directory.samples)
                // A resumed run makes the iterations after its checkpoint again.
                SampleShardWriter.removeShards(in: directory.samples, from: progress.epoch * c.iterationsPerEpoch + progress.iteration)
            }
            run.communicator.barrier()
        } else {
            shards = nil
        }
    }

    /// The epoch a run resumes in: at an epoch's end the checkpoint names the next epoch.
    private static func progress(of checkpoint: CheckpointFile.Contents) throws -> RunProgress {
        var progress = RunProgress()
        let file = "the checkpoint"
        progress.epoch = try checkpoint.integer("epoch", in: file)
        progress.iteration = try checkpoint.integer("iteration", in: file)
        progress.lastTop1 = try checkpoint.number("last_top1", in: file)
        progress.bestTop1 = try checkpoint.number("best_top1", in: file)
        progress.bestEpoch = try checkpoint.integer("best_epoch", in: file)
        progress.wallSeconds = try checkpoint.number("wall_seconds", in: file)
        // Checkpoints of runs that kept every epoch's last student have no pick of their own.
        progress.pickedEpoch = checkpoint.attributes["picked_epoch"] == nil ? progress.epoch : try checkpoint.integer("picked_epoch", in: file)
        progress.pickedTop1 = checkpoint.attributes["picked_top1"] == nil ? progress.lastTop1 : try checkpoint.number("picked_top1", in: file)
        return progress
    }

    /// Runs until every epoch is done, `minutes` pass or a stop is asked for.
    public func runToEnd() throws -> DistillationOutcome {
        do { return try epochs() } catch {
            shards?.abandon()
            throw error
        }
    }

    private func epochs() throws -> DistillationOutcome {
        let c = run.configuration
        let start = Date(), wallAtStart = progress.wallSeconds
        var lastCheckpoint = Date()
        let reporter = communicator.isRoot ? ProgressReporter(label: "distill", total: c.epochs * c.iterationsPerEpoch, unit: "iterations") : nil
        func elapsed() -> Double { wallAtStart + Date().timeIntervalSince(start) }

        while progress.epoch < c.epochs {
            let epoch = progress.epoch
            var stopAtEpochEnd = false
            while progress.iteration < c.iterationsPerEpoch {
                try run.runIteration(epoch: epoch, iteration: progress.iteration)
                if let shards, (epoch * c.iterationsPerEpoch + progress.iteration) % options.saveSamplesEvery == 0,
                   let batch = run.lastGeneratedBatch(epoch: epoch, iteration: progress.iteration) {
                    try shards.append(batch)
                }
                progress.iteration += 1
                reporter?.update(epoch * c.iterationsPerEpoch + progress.iteration,
                                 status: "epoch \(epoch + 1), student " + (progress.lastTop1.isNaN ? "not evaluated yet" : String(format: "%.2f%%", progress.lastTop1)))
                let stop = StopRequest.isRequested(on: communicator)
                if progress.iteration == c.iterationsPerEpoch {
                    stopAtEpochEnd = stop
                } else if stop {
                    progress.wallSeconds = elapsed()
                    try writeCheckpoint(waiting: true)
                    return outcome(.stopped)
                } else if (options.checkpointEvery > 0 && progress.iteration % options.checkpointEvery == 0)
                            || (options.checkpointMinutes > 0 && Date().timeIntervalSince(lastCheckpoint) >= options.checkpointMinutes * 60) {
                    progress.wallSeconds = elapsed()
                    try writeCheckpoint(waiting: false)
                    lastCheckpoint = Date()
                }
            }
            try finishEpoch(epoch, wallSeconds: elapsed)
            run.completedFraction = completedFraction(trainingSeconds: elapsed())
            let agreed = StopRequest.agreed(on: communicator, budgetSpent: options.minutes.map { Date().timeIntervalSince(start) >= $0 * 60 } ?? false)
            let stop = stopAtEpochEnd || agreed.stop
            let ending: DistillationOutcome.Ending? = stop ? .stopped : agreed.budgetSpent ? .budgetSpent : progress.epoch == c.epochs ? .finished : nil
            if communicator.isRoot && run.storedSamples == nil && (ending != nil || (options.gridEvery > 0 && progress.epoch % options.gridEvery == 0)) {
                let grid = SampleGrid.render(run.generator, teacher: run.teacher, perClass: 8, seed: c.seed, normalization: normalization)
                try PNGFile.write(grid, to: directory.grid(epoch: progress.epoch))
            }
            try writeCheckpoint(waiting: ending != nil)
            lastCheckpoint = Date()
            if let ending { return outcome(ending) }
        }
        try checkpoints.waitForWrites()
        return outcome(.finished)
    }

    /// The share of the run done after the epoch that just ended: of the epochs, or with
    /// `--minutes` of the budget in training time over every invocation (rank 0's clock, so
    /// that every rank follows the same schedule).
    private func completedFraction(trainingSeconds: Double) -> Double {
        guard let minutes = options.minutes else { return Double(progress.epoch) / Double(run.configuration.epochs) }
        var clock: [Float] = [Float(trainingSeconds)]
        clock.withUnsafeMutableBufferPointer { communicator.broadcast($0, root: 0) }
        return min(1, Double(clock[0]) / (minutes * 60))
    }

    /// Where checkpoints keep the probe bank and each rule's pick.
    static let probesGroup = "probes"
    static func selectionGroup(_ rule: StudentSelection.Rule) -> String { "selection/" + rule.rawValue }

    /// Images per class of the diversity figures: 16, fewer for many classes (at most 640 in all).
    private static func diversityDraws(classes: Int) -> Int { max(2, min(16, 640 / max(classes, 1))) }

    /// The real-data iterations, evaluation, metrics line and model files of an epoch
    /// whose iterations are done; the progress then names the next epoch.
    private func finishEpoch(_ epoch: Int, wallSeconds: () -> Double) throws {
        var fields: [String: Any] = try run.finishEpoch(epoch, real: real)
        let top1 = evaluationImages.map { Evaluation.run(run.evaluatedStudent, on: $0, normalization: normalization, communicator: communicator).top1 } ?? .nan
        if run.studentAverage != nil, let evaluationImages {
            // The trained weights' own accuracy, beside their average's: what the average gains.
            fields["trained_student_top1"] = Evaluation.run(run.student, on: evaluationImages, normalization: normalization,
                                                            communicator: communicator).top1
        }
        progress.epoch = epoch + 1
        progress.iteration = 0
        progress.lastTop1 = top1
        if top1 > progress.bestTop1 { (progress.bestTop1, progress.bestEpoch) = (top1, epoch + 1) }
        var keptStudent = run.evaluatedStudent
        if generates {
            let c = run.configuration
            // The real accuracies above are only reported: nothing below reads them but the report.
            let probe = selection?.bank.offer(run.generator, teacher: run.teacher, epoch: epoch + 1)
                ?? ProbeBank.probe(of: run.generator, teacher: run.teacher, count: c.probeImages, seed: c.seed, epoch: epoch + 1)
            health = GenerationHealth(probe)
            health.map { fields.merge($0.fields) { $1 } }
        }
        if let selection {
            let score = try selection.consider(run.evaluatedStudent, epoch: epoch + 1)
            for other in selections.dropFirst() { try other.consider(run.evaluatedStudent, epoch: epoch + 1) }
            fields["probe_agreement"] = score.agreement
            fields["probe_divergence"] = score.divergence
            if let held = selection.pick?.score {
                (fields["picked_probe_agreement"], fields["picked_probe_divergence"]) = (held.agreement, held.divergence)
            }
            fields["picked_epoch_by_rule"] = Dictionary(uniqueKeysWithValues: selections.map { ($0.rule.rawValue, $0.pick?.epoch ?? 0) })
            if let pick = selection.pick, let picked = try selection.pickedStudent() {
                if pick.epoch == epoch + 1 { progress.pickedTop1 = top1 }
                progress.pickedEpoch = pick.epoch
                keptStudent = picked
            }
        } else {
            (progress.pickedEpoch, progress.pickedTop1) = (epoch + 1, top1)
        }
        fields["picked_epoch"] = progress.pickedEpoch
        fields["picked_student_top1"] = progress.pickedTop1
        progress.wallSeconds = wallSeconds()
        fields["epoch"] = epoch + 1
        fields["student_top1"] = top1
        fields["restored_ratio"] = 100 * top1 / teacherTop1
        fields["teacher_top1"] = teacherTop1
        fields["planned_epochs"] = run.configuration.epochs
        fields["wall_seconds"] = progress.wallSeconds
        if communicator.isRoot && run.storedSamples == nil {
            let classes = run.generator.shape.classes
            let (images, rows) = SampleGrid.draw(run.generator, teacher: run.teacher, perClass: Self.diversityDraws(classes: classes),
                                                 seed: run.configuration.seed)
            sampleDiversity = WithinClassDiversity.of(images, labels: rows)
            fields["sample_diversity"] = sampleDiversity
            fields["real_diversity"] = realDiversity
        }
        var lastDescription = studentDescription, keptDescription = studentDescription
        lastDescription.provenance["epochs"] = "\(epoch + 1)"
        lastDescription.provenance["eval_top1"] = String(format: "%.2f", top1)
        keptDescription.provenance["epochs"] = "\(progress.pickedEpoch)"
        keptDescription.provenance["eval_top1"] = String(format: "%.2f", progress.pickedTop1)
        if let selection, selection.rule != .last { keptDescription.provenance["chosen_by"] = "\(selection.rule.rawValue) on the probe bank, epoch \(progress.pickedEpoch) of \(epoch + 1)" }
        if communicator.isRoot {
            // One set, then the metrics line: a reader sees the student, generator and metrics
            // of one epoch, and a failed write (a full disk) replaces none of them.
            // A run on stored samples trains no generator.
            let generator = run.storedSamples == nil
                ? [GeneratorFile.pending(run.generator, provenance: lastDescription.provenance, to: directory.generator)] : []
            try AtomicFile.writeSet([ModelFile.pending(keptStudent, description: keptDescription, to: directory.student),
                                     ModelFile.pending(run.evaluatedStudent, description: lastDescription, to: directory.lastStudent)] + generator)
        }
        try log.log(fields)
    }

    /// Copies the state and hands it to the background writer (rank 0 only; the state is the
    /// same on every rank). With `waiting` every rank returns only once the file is durable:
    /// the run is about to exit, and a rank that exits first can make mpirun end the others.
    private func writeCheckpoint(waiting: Bool) throws {
        if let shards {
            // Every rank's shards up to this point are on disk before the checkpoint that covers them.
            try shards.commit()
            communicator.barrier()
        }
        if communicator.isRoot {
            var state = StateArchive()
            run.archive(into: &state)
            selection?.bank.archive(into: &state, group: Self.probesGroup)
            for selection in selections { selection.archive(into: &state, group: Self.selectionGroup(selection.rule)) }
            var attributes = identity
            attributes["kind"] = .text("distillation")
            attributes["epoch"] = .integer(Int64(progress.epoch))
            attributes["iteration"] = .integer(Int64(progress.iteration))
            attributes["iterations_per_epoch"] = .integer(Int64(run.configuration.iterationsPerEpoch))
            attributes["world_size"] = .integer(Int64(run.communicator.size))
            attributes["last_top1"] = .number(progress.lastTop1)
            attributes["best_top1"] = .number(progress.bestTop1)
            attributes["best_epoch"] = .integer(Int64(progress.bestEpoch))
            attributes["picked_epoch"] = .integer(Int64(progress.pickedEpoch))
            attributes["picked_top1"] = .number(progress.pickedTop1)
            attributes["wall_seconds"] = .number(progress.wallSeconds)
            attributes["provenance_written"] = .text(ISO8601DateFormatter().string(from: Date()))
            try checkpoints.write(CheckpointFile.Contents(attributes: attributes, state: state),
                                  name: RunDirectory.checkpointName(epoch: progress.epoch, iteration: progress.iteration))
            if waiting { try checkpoints.waitForWrites() }
        }
        if waiting { communicator.barrier() }
    }

    private func outcome(_ ending: DistillationOutcome.Ending) -> DistillationOutcome {
        DistillationOutcome(ending: ending, progress: progress, epochsDone: progress.epoch)
    }
}
