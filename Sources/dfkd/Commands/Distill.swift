import ArgumentParser
import Data
import Distillation
import Distributed
import Foundation
import NeuralNetwork
import Storage
import Training

struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Distil a teacher into a student without its training data.",
        discussion: """
        The method is a configuration: --method picks the published defaults (cpsc, gip, dafl, \
        dfad, dfq) and --config FILE.yaml overrides any of them (configs/ holds one file per \
        method and per ablation). The dataset only evaluates the student after every epoch \
        (and feeds GIP's real-data iterations). --out DIR receives student.h5, generator.h5 and \
        metrics.jsonl, rewritten after every epoch, grids/epoch-NNNN.png, one row of generated \
        images per class, and checkpoints/, from which --resume DIR continues the run (on any \
        number of ranks), and run.json, the run's settings and output options, written before its first step: --resume DIR \
        alone continues a run killed at any moment. --save-samples N keeps generated batches in DIR/samples/ (HDF5 shards); \
        --from-samples SHARDS trains a student on such shards and their stored teacher logits \
        instead, with no generator. SIGINT, SIGTERM and SIGUSR1 stop after the running iteration with a \
        checkpoint and exit status 75 (resumable). Started by mpirun or srun (launch/mpirun.sh), \
        the ranks share every batch; rank 0 prints and writes the files. DFKD_CONVOLUTION=auto \
        (the default) measures the faster convolution kernels of each shape once per machine and \
        keeps the choice in ~/.cache/dfkd (or DFKD_CACHE_DIR); =direct or =gemm forces one.
        """)

    @Option(help: "The teacher model file (taken from the checkpoint when resuming).") var teacher: String?
    @Option(help: "Student architecture (taken from the checkpoint when resuming).") var student: Architecture?
    @Option(help: ArgumentHelp("Start the student from the weights of this model file, the student of an earlier stage (binary-resnet18 from binary-resnet18-real-weights).",
                               valueName: "model-file"))
    var studentInit: String?
    @Option(help: "Method (or the config file's 'method').") var method: DistillationConfiguration.Method?
    @OptionGroup var data: DatasetOptions
    @Option(help: "YAML file of settings; repeat to layer files, later ones winning (a method's, then an ablation's).")
    var config: [String] = []
    @Option(help: "Epochs (overrides the configuration; may extend a resumed run).") var epochs: Int?
    @Option(help: "Iterations per epoch (overrides the configuration).") var iterations: Int?
    @Option(help: "Stop after this many minutes of this invocation (after the running epoch's evaluation, with a checkpoint); a resume keeps the run's unless given again.")
    var minutes: Double?
    @Option(help: "Seed (overrides the configuration).") var seed: Int?
    @Option(help: "Write a per-class PNG grid of generated images every this many epochs (and at the end; 0: only at the end; default 5).")
    var gridEvery: Int?
    @Option(help: "Output directory of a new run.") var out: String?
    @Option(help: ArgumentHelp("Continue the run in this directory from its newest readable checkpoint, or from its start when it was stopped before its first (its run.json); an absent or empty directory starts a new run there. Its settings, and the output options not given again, are the run's.",
                               valueName: "directory"))
    var resume: String?
    @Option(help: "Also write a checkpoint every this many iterations within an epoch (0, the default: only at epoch ends, stops and --checkpoint-minutes).")
    var checkpointEvery: Int?
    @Option(help: "Also write a checkpoint when this many minutes passed since the last (0: off; default 10).") var checkpointMinutes: Double?
    @Option(help: "How many checkpoints to keep (default 2).") var keepCheckpoints: Int?
    @Option(help: "Keep the generated batch of every N-th iteration in sample shards under DIR/samples/ (0, the default: off).") var saveSamples: Int?
    @Option(parsing: .upToNextOption,
            help: "Train the student on sample shards of an earlier run (files or a quoted glob, 'RUN/samples/*.h5') and their stored teacher logits, without a generator.")
    var fromSamples: [String] = []
    @Flag(help: "Print one JSON object as the last line.") var json = false
    @Flag(help: "Read no real image: the dataset's files are not opened and no accuracy is reported; the run trains and chooses its student as it would with them (methods with real-data iterations refuse it).")
    var noRealData = false

    func validate() throws {
        guard (out == nil) != (resume == nil) || out == resume else {
            throw ValidationError("give --out DIR for a new run or --resume DIR to continue one, not both")
        }
        guard out != nil || resume != nil else { throw ValidationError("--out DIR (a new run) or --resume DIR is required") }
        try CommandLineValues.check([
            (epochs.map(Double.init), "--epochs", DistillationSettings.allowed("epochs")),
            (iterations.map(Double.init), "--iterations", DistillationSettings.allowed("iterations")),
            (seed.map(Double.init), "--seed", .seeds),
            (minutes, "--minutes", .positive),
            (gridEvery.map(Double.init), "--grid-every", .integers(0...1_000_000)),
            (checkpointEvery.map(Double.init), "--checkpoint-every", .integers(0...100_000_000)),
            (checkpointMinutes, "--checkpoint-minutes", .nonNegative),
            (keepCheckpoints.map(Double.init), "--keep-checkpoints", .integers(1...1000)),
            (saveSamples.map(Double.init), "--save-samples", .integers(0...100_000_000)),
        ])
        guard fromSamples.isEmpty || (saveSamples ?? 0) == 0 else {
            throw ValidationError("--save-samples keeps generated samples; a run --from-samples generates none")
        }
        for path in [out, resume].compactMap({ $0 }) { try CommandLineValues.requireDirectoryOrAbsent(path) }
    }

    func run() throws {
        try JobRanks.run(Self.self, distill)
    }

    private func distill(over communicator: Communicator) throws {
        StopRequest.install()
        let directory = RunDirectory(resume ?? out!)
        let lock = try OutputLock.take(directory.lock, over: communicator)
        defer { lock?.release() }
        let source = resume == nil ? nil : try ResumeSource.find(in: directory, over: communicator, besides: SweepRunDirectory.files,
                                                                explaining: DamageLocator.described) { print($0) }
        let (checkpoint, record) = (source?.checkpoint, source?.record)
        // A run started again from its record makes its first epochs again, as a new run does.
        if checkpoint == nil, communicator.isRoot {
            for moved in try directory.setAsidePreviousRun(includingRecord: resume == nil) {
                print("note: \(moved.place) held a previous run's \(moved.holding), now in \(moved.aside)"
                      + (resume == nil ? " (--resume \(directory.path) continues a run)" : ""))
            }
        }
        let stored = try checkpoint.map(StoredRun.init) ?? record.map { StoredRun(record: $0, path: directory.record) }
        let outputs = resolvedOutputs(recorded: record?.outputs)
        let readsNoRealData = noRealData || record?.noRealData == true
        // The model the student started from: loaded when the run starts (a checkpoint holds the student since).
        let studentInitPath = studentInit.map(StoredRun.absolute) ?? record?.studentInit
        let file = try DistillationSettings.file(texts: (stored.map { [($0.path, $0.settings)] } ?? []) + config.map(ConfigFile.read))
        // Why an option a new run needs is missing when --resume was meant to continue one.
        let startsHere = resume != nil && stored == nil ? " (\(directory.path) holds no run to continue, so a new run starts there)" : ""
        let methodKind: DistillationConfiguration.Method
        do { methodKind = try DistillationSettings.method(method?.rawValue, file: file) } catch let error as CommandError {
            throw CommandError(error.description + startsHere)
        }
        // Every setting is checked before the teacher is read; which apply waits for the teacher.
        _ = try DistillationSettings.configuration(method: methodKind, file: file)
        let datasetChoice = try data.choice(config: file)
        let samplePaths = fromSamples.isEmpty ? stored?.fromSamples ?? [] : try SampleShardSet.expand(fromSamples).map(StoredRun.absolute)
        let sampleSet = try samplePaths.isEmpty ? nil : DamageLocator.naming { try SampleShardSet(paths: samplePaths) }
        let teacherPath = try (teacher ?? stored?.teacher ?? sampleSet?.shards[0].teacher).map(StoredRun.absolute)
            ?? { throw CommandError("--teacher is required" + startsHere) }()
        let teacherCRC = try Checksum.crc32(ofFile: teacherPath)
        guard let studentName = student?.rawValue ?? stored?.student else { throw CommandError("--student is required" + startsHere) }
        let (teacherModel, teacherDescription) = try ModelFile.load(teacherPath)
        let teacherHasBatchNorms = !teacherModel.batchNorms.isEmpty
        var settings = try DistillationSettings.configuration(method: methodKind, file: file, teacherHasBatchNorms: teacherHasBatchNorms)
        if let epochs { settings.epochs = epochs }
        if let iterations { settings.iterationsPerEpoch = iterations }
        if let seed { settings.seed = UInt64(seed) }
        if let stored {
            try stored.requireAgreement(settings: settings, dataset: datasetChoice, teacher: teacherPath, teacherCRC: teacherCRC, student: studentName,
                                         fromSamples: samplePaths)
        }
        if settings.effectiveStudentWarmupEpochs != settings.studentWarmupEpochs {
            print("note: student-warmup-epochs \(settings.studentWarmupEpochs) is not shorter than the \(settings.epochs) epochs; using \(settings.effectiveStudentWarmupEpochs)")
        }

        let dataset = readsNoRealData ? nil : try datasetChoice.load()
        if let dataset { try ModelChecks.requireInputs(teacherDescription, file: teacherPath, match: dataset) }
        try DistillationSettings.requireRunnable(settings, file: file, teacherHasBatchNorms: teacherHasBatchNorms, ranks: communicator.size)
        let side = teacherDescription.inputShape[1]
        guard side == teacherDescription.inputShape[2], side % 4 == 0 else {
            throw CommandError("\(teacherPath): the teacher takes \(teacherDescription.inputShape) images; the generator makes square ones "
                               + "whose side is a multiple of 4")
        }
        let studentArchitecture = try Architecture(named: studentName)
        let studentModel = studentArchitecture.make(inputChannels: teacherDescription.inputShape[0], classes: teacherDescription.classes)
            .initialize(seed: settings.seed)
        if checkpoint == nil, let studentInitPath { try StudentInitialization.load(studentInitPath, into: studentModel, like: teacherDescription) }
        let normalization = Normalization(mean: teacherDescription.normalizationMean, std: teacherDescription.normalizationStd)
        let teacherTop1 = dataset.map { Evaluation.run(teacherModel, on: $0.eval, normalization: normalization, communicator: communicator).top1 } ?? .nan
        if let sampleSet { try Self.requireSamples(sampleSet, of: teacherPath, teacherCRC: teacherCRC, teacherDescription) }
        let averagedStudent = settings.studentAverageDecay > 0
            ? studentArchitecture.make(inputChannels: teacherDescription.inputShape[0], classes: teacherDescription.classes) : nil
        let run = DistillationRun(teacher: teacherModel, student: studentModel, averagedStudent: averagedStudent, imageShape: teacherDescription.inputShape,
                                  classes: teacherDescription.classes, configuration: settings, inputNormalization: normalization,
                                  communicator: communicator)
        run.storedSamples = try sampleSet.map { set in try DamageLocator.naming { try StoredSamples(set, seed: settings.seed) } }
        if settings.realPasses > 0 && dataset == nil {
            throw CommandError("real-passes \(settings.realPasses): the method's real-data iterations need real images, which --no-real-data forbids")
        }
        let real = settings.realPasses > 0
            ? dataset.map { BatchSource($0.train, batchSize: settings.realBatchSize, normalization: normalization,
                                        augmentation: $0.kind.augmentation, seed: settings.seed, training: true) }
            : nil
        let command = CommandLine.arguments.joined(separator: " ")
        let hosts = JobRanks.hosts(communicator)
        let started = stored?.started ?? ISO8601DateFormatter().string(from: Date())
        var studentDescription = ModelDescription(
            architecture: studentArchitecture, classes: teacherDescription.classes, inputShape: teacherDescription.inputShape,
            normalizationMean: teacherDescription.normalizationMean, normalizationStd: teacherDescription.normalizationStd,
            provenance: ["command": command, "teacher": teacherPath, "method": methodKind.rawValue, "seed": "\(settings.seed)",
                         "dfkd_version": DataFreeKD.version, "created": started])
        if let studentInitPath { studentDescription.provenance["student_init"] = studentInitPath }
        if let samples = run.storedSamples {
            studentDescription.provenance["from_samples"] = "\(samples.count) samples of \(samplePaths.count) shard(s) in "
                + Set(samplePaths.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }).sorted().joined(separator: ", ")
        }
        let settingsText = DistillationSettings.yaml(settings) + datasetChoice.yaml
        var identity: [String: CheckpointFile.Attribute] = [
            "method": .text(methodKind.rawValue), "student": .text(studentName), "teacher": .text(teacherPath),
            "teacher_crc32": .integer(Int64(teacherCRC)), "teacher_top1": .number(teacherTop1),
            "settings": .text(settingsText),
            "provenance_dfkd_version": .text(DataFreeKD.version), "provenance_command": .text(command),
            "provenance_hosts": .text(hosts), "provenance_started": .text(started),
        ]
        if !samplePaths.isEmpty { identity["from_samples"] = .text(samplePaths.joined(separator: "\n")) }
        var options = DriverOptions()
        (options.minutes, options.gridEvery, options.checkpointEvery) = (outputs.minutes, outputs.gridEvery, outputs.checkpointEvery)
        (options.checkpointMinutes, options.keepCheckpoints, options.saveSamplesEvery) = (outputs.checkpointMinutes, outputs.keepCheckpoints, outputs.saveSamples)
        let bank = ProbeBank(capacity: settings.probeStates, images: settings.probeImages, seed: settings.seed)
        // The configured rule decides; with selection-study the others are measured beside it. The
        // last epoch's student alone needs no bank.
        let rules = settings.selectionStudy ? [settings.selectionRule] + StudentSelection.Rule.allCases.filter { $0 != settings.selectionRule }
            : settings.selectionRule == .last ? [] : [settings.selectionRule]
        let selections = rules.map {
            StudentSelection(rule: $0, bank: bank, holder: studentArchitecture.make(inputChannels: teacherDescription.inputShape[0],
                                                                                   classes: teacherDescription.classes))
        }
        if communicator.isRoot {
            // Before the first step, so that a run killed at any moment can be continued by --resume DIR alone.
            try RunRecord(method: methodKind.rawValue, teacher: teacherPath, teacherCRC32: teacherCRC, student: studentName, studentInit: studentInitPath,
                          fromSamples: samplePaths, settings: settingsText, noRealData: readsNoRealData, outputs: outputs, started: started,
                          command: record?.command ?? command, dfkdVersion: DataFreeKD.version).write(to: directory.record)
        }
        let driver = try DistillationDriver(run: run, teacherTop1: teacherTop1, evaluationImages: dataset?.eval, normalization: normalization,
                                            real: real, directory: directory, studentDescription: studentDescription, identity: identity,
                                            options: options, selections: selections, resumingFrom: checkpoint?.contents)

        if let checkpoint, let stored {
            print("resuming \(checkpoint.path) (written by \(stored.worldSize) rank(s)) after \(driver.progress.epoch) epoch(s) "
                  + "and \(driver.progress.iteration) of the next's \(settings.iterationsPerEpoch) iterations")
        } else if record != nil {
            print("restarting the run recorded in \(directory.record) from its start: it stopped before its first checkpoint")
        }
        if let warning = driver.metricsDamageWarning { print(warning) }
        let teacherAccuracy = dataset.map { "(\(String(format: "%.2f", teacherTop1))% on \($0.eval.count) \($0.kind.rawValue) images)" }
        print("distill: \(methodKind.rawValue), teacher \(teacherDescription.architecture.rawValue) " + (teacherAccuracy ?? "(no real images read)")
              + " -> student \(studentArchitecture.rawValue)"
              + (run.storedSamples.map { " on \($0.count) stored samples of \(samplePaths.count) shard(s)," } ?? ",")
              + " \(settings.epochs) epochs of \(settings.iterationsPerEpoch) iterations, batch \(settings.batchSize)"
              + (communicator.size > 1 ? " over \(communicator.size) ranks" : ""))
        if communicator.size > 1 { print("ranks on hosts: \(hosts)") }
        let outcome = try driver.runToEnd()
        report(outcome, teacherTop1: teacherTop1, epochs: settings.epochs, method: methodKind.rawValue, directory: directory,
               generated: sampleSet == nil, diversity: (driver.sampleDiversity, driver.realDiversity), driver: driver)
        if outcome.ending == .stopped { throw ExitCode(StopRequest.resumableStatus) }
    }

    /// The output options given, else the run's recorded ones (a resume), else the defaults.
    private func resolvedOutputs(recorded: RunRecord.Outputs?) -> RunRecord.Outputs {
        let defaults = RunRecord.Outputs(minutes: nil, gridEvery: 5, checkpointEvery: 0, checkpointMinutes: 10, keepCheckpoints: 2, saveSamples: 0)
        let base = recorded ?? defaults
        return RunRecord.Outputs(minutes: minutes ?? base.minutes, gridEvery: gridEvery ?? base.gridEvery,
                                 checkpointEvery: checkpointEvery ?? base.checkpointEvery, checkpointMinutes: checkpointMinutes ?? base.checkpointMinutes,
                                 keepCheckpoints: keepCheckpoints ?? base.keepCheckpoints, saveSamples: saveSamples ?? base.saveSamples)
    }

    /// Throws unless the shards of `set` were made by this teacher, for its input.
    private static func requireSamples(_ set: SampleShardSet, of teacherPath: String, teacherCRC: UInt32, _ teacher: ModelDescription) throws {
        let shard = set.shards[0]
        guard set.teacherCRC == teacherCRC else {
            throw CommandError("\(shard.path): its samples are of the teacher \(shard.teacher) with CRC-32 \(Checksum.hex(set.teacherCRC)); "
                               + "\(teacherPath) has CRC-32 \(Checksum.hex(teacherCRC))")
        }
        guard set.imageShape == teacher.inputShape, set.classes == teacher.classes,
              shard.normalizationMean == teacher.normalizationMean, shard.normalizationStd == teacher.normalizationStd else {
            throw CommandError("\(shard.path): its samples are \(set.imageShape) images of \(set.classes) classes normalised by "
                               + "\(shard.normalizationMean) / \(shard.normalizationStd); \(teacherPath) takes \(teacher.inputShape) images of "
                               + "\(teacher.classes) classes normalised by \(teacher.normalizationMean) / \(teacher.normalizationStd)")
        }
    }

    private func report(_ outcome: DistillationOutcome, teacherTop1: Double, epochs: Int, method: String, directory: RunDirectory,
                        generated: Bool, diversity: (samples: Double?, real: Double?), driver: DistillationDriver) {
        let p = outcome.progress
        let restored = 100 * p.pickedTop1 / teacherTop1
        let chosen = driver.selection.flatMap { $0.rule == .last ? nil : "chosen without real images (\($0.rule.rawValue) on the probe bank)" }
            ?? "the last epoch's"
        if teacherTop1.isNaN {
            print("student.h5: epoch \(p.pickedEpoch), \(chosen); no real images read, no accuracy measured; \(String(format: "%.0f", p.wallSeconds)) s")
        } else {
            print(String(format: "teacher %.2f%%; student.h5 (epoch %d, ", teacherTop1, p.pickedEpoch) + chosen
                  + String(format: "): %.2f%%, restored ratio %.2f%%; for comparison, by real accuracy: the last epoch (%d) %.2f%%, "
                           + "the best epoch (%d) %.2f%%; %.0f s", p.pickedTop1, restored, outcome.epochsDone, p.lastTop1, p.bestEpoch,
                           p.bestTop1, p.wallSeconds))
        }
        if let health = driver.health {
            print("teacher's classes on the last epoch's probe images (percent of each class): "
                  + health.shares.enumerated().map { String(format: "%d %.1f", $0.offset, $0.element) }.joined(separator: ", "))
            print(health.warning.map { "warning: \($0)" } ?? "no class collapsed (none rare, unrecognised, flat or drawn as a single image)")
        }
        if let samples = diversity.samples, let real = diversity.real {
            print(String(format: "within-class diversity (RMS pixel difference of two images of a class): generated %.3f, real images %.3f",
                         samples, real))
        }
        switch outcome.ending {
        case .finished: break
        case .budgetSpent: print("stopped after \(outcome.epochsDone) of \(epochs) epochs (--minutes); continue with --resume \(directory.path)")
        case .stopped:
            print("stopped on request after \(p.epoch) epoch(s) and \(p.iteration) iteration(s) of the next, with a checkpoint; "
                  + "continue with --resume \(directory.path) (exit status \(StopRequest.resumableStatus))")
        }
        print("student: \(directory.student) (the last epoch's: \(directory.lastStudent))\n" + (generated ? "generator: \(directory.generator)\n" : "") + "metrics: \(directory.metrics)\n"
              + (generated ? "sample grids: \(directory.grids)/\n" : "") + "checkpoints: \(directory.checkpoints)/")
        if json {
            var summary: [String: Any] = [
                "student_top1": p.pickedTop1, "teacher_top1": teacherTop1, "restored_ratio": restored, "picked_epoch": p.pickedEpoch,
                "last_student_top1": p.lastTop1, "last_restored_ratio": 100 * p.lastTop1 / teacherTop1,
                "best_student_top1": p.bestTop1, "best_restored_ratio": 100 * p.bestTop1 / teacherTop1, "best_epoch": p.bestEpoch,
                "epochs": outcome.epochsDone, "method": method, "ending": "\(outcome.ending)", "wall_seconds": p.wallSeconds,
                "selection": driver.selection?.rule.rawValue ?? "last",
            ]
            driver.health.map { summary.merge($0.fields) { $1 } }
            summary["sample_diversity"] = diversity.samples
            summary["real_diversity"] = diversity.real
            print(MetricsLog.jsonLine(summary))
        }
    }
}
