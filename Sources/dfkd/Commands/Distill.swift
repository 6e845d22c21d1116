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
        metrics.jsonl, rewritten after every epoch, and grids/epoch-NNNN.png, one row of generated \
        images per class; the reported accuracy is the last epoch's. Started by mpirun or srun \
        (launch/mpirun.sh), the ranks share every batch; rank 0 prints and writes the files.
        """)

    @Option(help: "The teacher model file.") var teacher: String
    @Option(help: "Student architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).") var student: String
    @Option(help: "Method: \(DistillationConfiguration.Method.allCases.map(\.rawValue).joined(separator: ", ")) (or the config file's 'method').")
    var method: String?
    @OptionGroup var data: DatasetOptions
    @Option(help: "YAML file of settings; repeat to layer files, later ones winning (a method's, then an ablation's).")
    var config: [String] = []
    @Option(help: "Epochs (overrides the configuration).") var epochs: Int?
    @Option(help: "Iterations per epoch (overrides the configuration).") var iterations: Int?
    @Option(help: "Stop after this many minutes (after the running epoch's evaluation).") var minutes: Double?
    @Option(help: "Seed (overrides the configuration).") var seed: Int?
    @Option(help: "Write a per-class PNG grid of generated images every this many epochs (and at the end; 0: only at the end).")
    var gridEvery = 5
    @Option(help: "Output directory.") var out: String
    @Flag(help: "Print one JSON object as the last line.") var json = false

    func run() throws {
        try JobRanks.run(Self.self, distill)
    }

    private func distill(over communicator: Communicator) throws {
        StopRequest.install()
        let start = Date()
        let file = try ConfigFile(paths: config, allowedKeys: DistillationSettings.fileKeys)
        let methodKind = try DistillationSettings.method(method, file: file)
        let method = methodKind.rawValue
        var settings = try DistillationSettings.configuration(method: methodKind, file: file)
        if let epochs { settings.epochs = epochs }
        if let iterations { settings.iterationsPerEpoch = iterations }
        if let seed { settings.seed = UInt64(seed) }
        if settings.studentSchedule == .cosine && settings.studentWarmupEpochs >= Double(settings.epochs) {
            // A short run keeps the shape of the published schedule: a tenth of it warms up.
            print("note: student-warmup-epochs \(settings.studentWarmupEpochs) is not shorter than the \(settings.epochs) epochs; using \(Double(settings.epochs) / 10)")
            settings.studentWarmupEpochs = Double(settings.epochs) / 10
        }

        let dataset = try data.load(config: file)
        let (teacherModel, teacherDescription) = try ModelFile.load(teacher)
        try ModelChecks.requireInputs(teacherDescription, file: teacher, match: dataset)
        let studentArchitecture = try Architecture(named: student)
        let studentModel = studentArchitecture.make(inputChannels: teacherDescription.inputShape[0], classes: teacherDescription.classes)
            .initialize(seed: settings.seed)
        let normalization = Normalization(mean: teacherDescription.normalizationMean, std: teacherDescription.normalizationStd)
        let teacherTop1 = Evaluation.run(teacherModel, on: dataset.eval, normalization: normalization, communicator: communicator).top1
        let run = DistillationRun(teacher: teacherModel, student: studentModel, imageShape: teacherDescription.inputShape,
                                  classes: teacherDescription.classes, configuration: settings, communicator: communicator)
        let real = settings.realPasses > 0
            ? BatchSource(dataset.train, batchSize: settings.realBatchSize, normalization: normalization,
                          augmentation: dataset.kind.augmentation, seed: settings.seed, training: true)
            : nil

        let writes = communicator.isRoot
        if writes { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
        let log = try MetricsLog(path: writes ? out + "/metrics.jsonl" : nil)
        var studentDescription = ModelDescription(
            architecture: studentArchitecture, classes: teacherDescription.classes, inputShape: teacherDescription.inputShape,
            normalizationMean: teacherDescription.normalizationMean, normalizationStd: teacherDescription.normalizationStd,
            provenance: ["command": CommandLine.arguments.joined(separator: " "), "teacher": teacher, "method": method,
                         "seed": "\(settings.seed)", "dfkd_version": DataFreeKD.version,
                         "created": ISO8601DateFormatter().string(from: Date())])
        print("distill: \(method), teacher \(teacherDescription.architecture.rawValue) (\(String(format: "%.2f", teacherTop1))% on "
              + "\(dataset.eval.count) \(dataset.kind.rawValue) images) -> student \(studentArchitecture.rawValue), "
              + "\(settings.epochs) epochs of \(settings.iterationsPerEpoch) iterations, batch \(settings.batchSize)"
              + (communicator.size > 1 ? " over \(communicator.size) ranks" : ""))
        let progress = writes ? ProgressReporter(label: "distill", total: settings.epochs * settings.iterationsPerEpoch, unit: "iterations") : nil
        var lastTop1 = Double.nan, bestTop1 = -Double.infinity, bestEpoch = 0, epochsDone = 0, stopped = false
        for epoch in 0..<settings.epochs {
            let terms = run.runEpoch(epoch, real: real) { iteration in
                progress?.update(epoch * settings.iterationsPerEpoch + iteration,
                                 status: String(format: "epoch %d, student %.2f%%", epoch + 1, lastTop1))
                return !StopRequest.isRequested(on: communicator)
            }
            lastTop1 = Evaluation.run(studentModel, on: dataset.eval, normalization: normalization, communicator: communicator).top1
            epochsDone = epoch + 1
            if lastTop1 > bestTop1 { bestTop1 = lastTop1; bestEpoch = epochsDone }
            let wall = Date().timeIntervalSince(start)
            var fields: [String: Any] = terms
            fields["epoch"] = epochsDone
            fields["student_top1"] = lastTop1
            fields["restored_ratio"] = 100 * lastTop1 / teacherTop1
            fields["wall_seconds"] = wall
            log.log(fields)
            studentDescription.provenance["epochs"] = "\(epochsDone)"
            studentDescription.provenance["eval_top1"] = String(format: "%.2f", lastTop1)
            if writes {
                try ModelFile.write(studentModel, description: studentDescription, to: out + "/student.h5")
                try GeneratorFile.write(run.generator, provenance: studentDescription.provenance, to: out + "/generator.h5")
            }
            let last = StopRequest.isRequested(on: communicator, or: minutes.map { wall >= $0 * 60 } ?? false)
            if writes && (last || epochsDone == settings.epochs || (gridEvery > 0 && epochsDone % gridEvery == 0)) {
                let grid = SampleGrid.render(run.generator, teacher: teacherModel, perClass: 8, seed: settings.seed,
                                             normalization: normalization)
                try PNGFile.write(grid, to: out + String(format: "/grids/epoch-%04d.png", epochsDone))
            }
            if last {
                stopped = epochsDone < settings.epochs
                break
            }
        }
        let wall = Date().timeIntervalSince(start)
        let restored = 100 * lastTop1 / teacherTop1
        print(String(format: "teacher %.2f%%, student %.2f%% after %d epochs (best %.2f%% at epoch %d), restored ratio %.2f%%, %.0f s",
                     teacherTop1, lastTop1, epochsDone, bestTop1, bestEpoch, restored, wall))
        if stopped { print("stopped after \(epochsDone) of \(settings.epochs) epochs") }
        print("student: \(out)/student.h5\ngenerator: \(out)/generator.h5\nmetrics: \(out)/metrics.jsonl\nsample grids: \(out)/grids/")
        if json {
            print(MetricsLog.jsonLine([
                "student_top1": lastTop1, "teacher_top1": teacherTop1, "restored_ratio": restored, "wall_seconds": wall,
                "best_student_top1": bestTop1, "best_epoch": bestEpoch, "epochs": epochsDone, "method": method,
            ]))
        }
    }
}
