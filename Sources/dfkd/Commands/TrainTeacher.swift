import ArgumentParser
import Data
import Distributed
import Foundation
import NeuralNetwork
import Storage
import TensorEngine
import Training

struct TrainTeacher: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-teacher",
        abstract: "Train a classifier on labelled images and save it as an HDF5 model file.",
        discussion: """
        Also trains students from scratch, and with --teacher distils a teacher into the model \
        on real data (KD: cross entropy plus temperature-scaled KL to the teacher). The model \
        file is rewritten atomically after every epoch; full-state checkpoints go to \
        OUT.checkpoints/ (OUT without its extension) at every epoch's end, every \
        --checkpoint-every steps and --checkpoint-minutes, and at a stop: SIGINT, SIGTERM or \
        SIGUSR1 stop after the running step with a checkpoint and exit status 75, and \
        --resume continues from the newest one (bit for bit on the same number of ranks). \
        Options may also come from --config FILE.yaml (keys are the option names without \
        dashes); the command line wins.
        """)

    @OptionGroup var data: DatasetOptions
    @Option(help: "Architecture (or the config file's 'model').") var model: Architecture?
    @Option(help: "Epochs (default 30).") var epochs: Int?
    @Option(help: "Batch size (default 128).") var batch: Int?
    @Option(help: "Optimizer (default adam).") var optimizer: SupervisedConfiguration.OptimizerKind?
    @Option(help: "Learning rate (default 0.001 for adam, 0.1 for sgd).") var lr: Double?
    @Option(help: "SGD momentum (default 0.9).") var momentum: Double?
    @Flag(help: "Nesterov momentum for SGD.") var nesterov = false
    @Option(help: "Weight decay (default 0 for adam, 5e-4 for sgd).") var weightDecay: Double?
    @Option(help: "Schedule (default cosine).") var schedule: SupervisedConfiguration.ScheduleKind?
    @Option(help: "Warm-up epochs of the cosine schedule (default 0).") var warmupEpochs: Double?
    @Option(parsing: .upToNextOption, help: "Multi-step schedule: epochs where the rate is multiplied by --gamma.") var milestones: [Int] = []
    @Option(help: "Multi-step schedule: the factor at each milestone (default 0.1).") var gamma: Double?
    @Option(help: "Seed of initialisation, order and augmentation (default 0).") var seed: Int?
    @Option(help: "A teacher model file: train by KD on real data.") var teacher: String?
    @Option(help: "KD: weight of the KL term (default 0.9).") var kdWeight: Double?
    @Option(help: "KD: temperature (default 4).") var kdTemperature: Double?
    @Option(help: "YAML file of options.") var config: String?
    @Option(help: "JSON-lines metrics file (default: next to --out, .metrics.jsonl).") var metrics: String?
    @Option(help: "Output model file (.h5).") var out: String
    @Flag(help: "Continue from the newest readable checkpoint in OUT.checkpoints/ (a run without one starts).") var resume = false
    @Option(help: "Also write a checkpoint every this many steps within an epoch (0: only at epoch ends and stops).")
    var checkpointEvery = 0
    @Option(help: "Also write a checkpoint when this many minutes passed since the last (0: off).") var checkpointMinutes = 10.0
    @Option(help: "How many checkpoints to keep.") var keepCheckpoints = 2
    @Flag(help: "Print one JSON object as the last line.") var json = false

    static let configKeys = DatasetOptions.configKeys + [
        "model", "epochs", "batch", "optimizer", "lr", "momentum", "nesterov", "weight-decay", "schedule",
        "warmup-epochs", "milestones", "gamma", "seed", "kd-weight", "kd-temperature",
    ]

    func validate() throws {
        try CommandLineValues.check([
            (Double(checkpointEvery), "--checkpoint-every", .integers(0...100_000_000)),
            (checkpointMinutes, "--checkpoint-minutes", .nonNegative),
            (Double(keepCheckpoints), "--keep-checkpoints", .integers(1...1000)),
        ])
        try CommandLineValues.requireRegularFileOrAbsent(out)
        if let metrics { try CommandLineValues.requireRegularFileOrAbsent(metrics) }
    }

    func run() throws {
        try JobRanks.run(Self.self, train)
    }

    private func train(over communicator: Communicator) throws {
        StopRequest.install()
        let file = try ConfigFile(path: config, allowedKeys: Self.configKeys)
        let settings = try trainingConfiguration(file)
        guard let modelName = try model?.rawValue ?? file.string("model") else { throw CommandError("--model is required") }
        let architecture = try Architecture(named: modelName)
        let dataset = try data.load(config: file)
        let net = architecture.make(inputChannels: dataset.train.channels, classes: dataset.train.classes).initialize(seed: settings.seed)
        let teacherModel = try teacher.map { path -> any Classifier in
            let (loaded, description) = try ModelFile.load(path)
            try ModelChecks.requireInputs(description, file: path, match: dataset)
            return loaded
        }
        // The model file's siblings (checkpoints, metrics) are this run's while it runs.
        let lock = try OutputLock.take(ModelChecks.sibling(of: out, suffix: ".lock"), over: communicator)
        defer { lock?.release() }
        var checkpointing = SupervisedCheckpointing(series: CheckpointSeries(directory: ModelChecks.sibling(of: out, suffix: ".checkpoints"),
                                                                             keep: keepCheckpoints))
        (checkpointing.every, checkpointing.minutes) = (checkpointEvery, checkpointMinutes)
        let settingsText = Self.settingsText(settings, model: architecture, dataset: try data.choice(config: file), teacher: teacher)
        if resume, let found = try ResumeCheckpoint.find(in: checkpointing.series.directory, over: communicator,
                                                                explaining: DamageLocator.described, warn: { print($0) }) {
            try Self.requireAgreement(found, settings: settingsText)
            checkpointing.resumingFrom = found.contents
            print("resuming \(found.path)")
        } else if communicator.isRoot {
            checkpointing.series.removeInterruptedWrites()
        }
        let metricsPath = metrics ?? ModelChecks.sibling(of: out, suffix: ".metrics.jsonl")
        if communicator.isRoot { [out, metricsPath].forEach(AtomicFile.removeStaleTemporaries(of:)) }
        checkpointing.identity = ["settings": .text(settingsText), "provenance_dfkd_version": .text(DataFreeKD.version),
                                  "provenance_command": .text(CommandLine.arguments.joined(separator: " ")),
                                  "provenance_hosts": .text(JobRanks.hosts(communicator))]
        let log = MetricsLog(path: communicator.isRoot ? metricsPath : nil, continuingAfter: checkpointing.epochsDone)
        if let warning = log.damageWarning { print(warning) }
        var description = ModelDescription(
            architecture: architecture, classes: dataset.train.classes, inputShape: dataset.train.imageShape,
            normalizationMean: dataset.normalization.mean, normalizationStd: dataset.normalization.std,
            provenance: [
                "command": CommandLine.arguments.joined(separator: " "), "dataset": dataset.kind.rawValue,
                "train_images": dataset.train.source, "eval_images": dataset.eval.source, "seed": "\(settings.seed)",
                "created": ISO8601DateFormatter().string(from: Date()), "dfkd_version": DataFreeKD.version,
            ])
        if let teacher { description.provenance["teacher"] = teacher }

        print("train-teacher: \(architecture.rawValue) (\(net.parameterCount) parameters) on \(dataset.kind.rawValue), "
              + "\(dataset.train.count) training / \(dataset.eval.count) evaluation images, \(settings.epochs) epochs, "
              + "batch \(settings.batchSize), \(settings.optimizer.rawValue) lr \(settings.learningRate), \(settings.schedule.rawValue) schedule"
              + (communicator.size > 1 ? " over \(communicator.size) ranks" : ""))
        let summary = try SupervisedTraining.run(net, dataset: dataset, configuration: settings, teacher: teacherModel, metrics: log,
                                                 showProgress: communicator.isRoot, communicator: communicator,
                                                 checkpointing: checkpointing) { epoch, progress in
            description.provenance["epochs"] = "\(epoch)"
            description.provenance["eval_top1"] = String(format: "%.2f", progress.lastEvalTop1)
            if communicator.isRoot { try ModelFile.write(net, description: description, to: out) }
        }
        if summary.stoppedEarly {
            print("stopped on request after \(summary.epochsCompleted) finished epoch(s); \(out) holds the last of them; "
                  + "continue with --resume (exit status \(StopRequest.resumableStatus))")
        }
        print(String(format: "eval top-1 %.2f%% after %d epochs (best %.2f%% at epoch %d), %.1f s, %.0f images/s",
                     summary.lastEvalTop1, summary.epochsCompleted, summary.bestEvalTop1, summary.bestEpoch,
                     summary.wallSeconds, summary.imagesPerSecond))
        print("model: \(out)\nmetrics: \(metricsPath)")
        if json {
            print(MetricsLog.jsonLine([
                "eval_top1": summary.lastEvalTop1, "best_eval_top1": summary.bestEvalTop1, "best_epoch": summary.bestEpoch,
                "epochs": summary.epochsCompleted, "train_loss": summary.lastTrainLoss, "wall_seconds": summary.wallSeconds,
                "images_per_second": summary.imagesPerSecond, "stopped_early": summary.stoppedEarly,
                "model_file": out, "metrics_file": metricsPath, "parameters": net.parameterCount,
            ]))
        }
        if summary.stoppedForResume { throw ExitCode(StopRequest.resumableStatus) }
    }

    /// The resolved settings, one "key: value" line each, as the checkpoint stores them.
    static func settingsText(_ c: SupervisedConfiguration, model: Architecture, dataset: DatasetChoice, teacher: String?) -> String {
        let lines = [
            "model: \(model.rawValue)", "epochs: \(c.epochs)", "batch: \(c.batchSize)", "optimizer: \(c.optimizer.rawValue)",
            "lr: \(c.learningRate)", "momentum: \(c.momentum)", "nesterov: \(c.nesterov)", "weight-decay: \(c.weightDecay)",
            "schedule: \(c.schedule.rawValue)", "warmup-epochs: \(c.warmupEpochs)", "milestones: \(c.milestones)", "gamma: \(c.gamma)",
            "seed: \(c.seed)", "kd-weight: \(c.kdWeight)", "kd-temperature: \(c.kdTemperature)",
            "teacher: \(teacher.map(StoredRun.absolute) ?? "none")",
        ]
        return lines.joined(separator: "\n") + "\n" + dataset.yaml
    }

    /// The settings of this invocation must be the checkpoint's, but for the epochs.
    static func requireAgreement(_ found: ResumeCheckpoint.Found, settings: String) throws {
        let kind = try found.contents.text("kind", in: found.path)
        guard kind == "supervised" else {
            throw CommandError("\(found.path): is a checkpoint of \(kind), not of train-teacher (root attribute 'kind')")
        }
        func values(_ text: String) -> [String: String] {
            Dictionary(text.split(separator: "\n").map { line in
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return (parts[0], parts.count > 1 ? parts[1] : "")
            }, uniquingKeysWith: { $1 })
        }
        let (stored, given) = (values(try found.contents.text("settings", in: found.path)), values(settings))
        let conflicts = Set(stored.keys).union(given.keys).sorted().filter { $0 != "epochs" && stored[$0] != given[$0] }
            .map { "\($0): the checkpoint has \(stored[$0] ?? "nothing"), given \(given[$0] ?? "nothing")" }
        guard conflicts.isEmpty else {
            throw CommandError("\(found.path): the options given disagree with the run this checkpoint continues:\n  "
                               + conflicts.joined(separator: "\n  "))
        }
    }

    private func trainingConfiguration(_ file: ConfigFile) throws -> SupervisedConfiguration {
        var c = SupervisedConfiguration()
        if let name = try optimizer?.rawValue ?? file.string("optimizer") {
            guard let kind = SupervisedConfiguration.OptimizerKind(rawValue: name) else { throw CommandError("\(file.path(of: "optimizer")): optimizer '\(name)': expected adam or sgd") }
            c.optimizer = kind
        }
        c.learningRate = Float(try lr ?? file.double("lr") ?? (c.optimizer == .adam ? 1e-3 : 0.1))
        c.weightDecay = Float(try weightDecay ?? file.double("weight-decay") ?? (c.optimizer == .adam ? 0 : 5e-4))
        c.momentum = Float(try momentum ?? file.double("momentum") ?? 0.9)
        c.nesterov = try nesterov || (file.bool("nesterov") ?? false)
        c.epochs = try epochs ?? file.int("epochs") ?? 30
        c.batchSize = try batch ?? file.int("batch") ?? 128
        if let name = try schedule?.rawValue ?? file.string("schedule") {
            guard let kind = SupervisedConfiguration.ScheduleKind(rawValue: name) else {
                throw CommandError("\(file.path(of: "schedule")): schedule '\(name)': expected cosine, multistep or constant")
            }
            c.schedule = kind
        }
        c.warmupEpochs = try warmupEpochs ?? file.double("warmup-epochs") ?? 0
        c.milestones = try milestones.isEmpty ? (file.ints("milestones") ?? []) : milestones
        c.gamma = Float(try gamma ?? file.double("gamma") ?? 0.1)
        c.seed = UInt64(clamping: try seed ?? file.int("seed") ?? 0)
        c.kdWeight = Float(try kdWeight ?? file.double("kd-weight") ?? 0.9)
        c.kdTemperature = Float(try kdTemperature ?? file.double("kd-temperature") ?? 4)
        let checks: [(value: Double, key: String, option: Any?, allowed: AllowedValues)] = [
            (Double(c.epochs), "epochs", epochs, .counts), (Double(c.batchSize), "batch", batch, .integers(1...65536)),
            (Double(c.learningRate), "lr", lr, .positive), (Double(c.momentum), "momentum", momentum, .decayFactor),
            (Double(c.weightDecay), "weight-decay", weightDecay, .nonNegative), (c.warmupEpochs, "warmup-epochs", warmupEpochs, .nonNegative),
            (Double(c.gamma), "gamma", gamma, .nonNegative), (Double(try seed ?? file.int("seed") ?? 0), "seed", seed, .seeds),
            (Double(c.kdWeight), "kd-weight", kdWeight, .nonNegative),
            (Double(c.kdTemperature), "kd-temperature", kdTemperature, .numbers(from: 0, including: false, below: 1e4)),
        ] + c.milestones.map { (Double($0), "milestones", milestones.isEmpty ? nil : milestones, .integers(0...1_000_000)) }
        for check in checks {
            if check.option == nil {
                try check.allowed.check(check.value, name: check.key, source: file.path(of: check.key))
            } else {
                // A command-line value is a usage error (64), as every command's are.
                try CommandLineValues.check([(check.value, "--" + check.key, check.allowed)])
            }
        }
        return c
    }
}

/// Checks shared by the commands that load model files.
enum ModelChecks {
    /// A model file's input shape and class count must fit the dataset's images.
    static func requireInputs(_ description: ModelDescription, file: String, match dataset: LoadedDataset) throws {
        guard description.inputShape == dataset.eval.imageShape, description.classes == dataset.eval.classes else {
            throw CommandError("\(file): the model takes \(description.inputShape) inputs in \(description.classes) classes; "
                               + "\(dataset.kind.rawValue) gives \(dataset.eval.imageShape) images in \(dataset.eval.classes) classes")
        }
    }

    /// `path` with its extension replaced by `suffix`.
    static func sibling(of path: String, suffix: String) -> String {
        let base = (path as NSString).deletingPathExtension
        return base + suffix
    }
}
