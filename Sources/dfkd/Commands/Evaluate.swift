import ArgumentParser
import Data
import Distributed
import Foundation
import NeuralNetwork
import Storage
import Training

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Accuracy of a model file on a dataset's evaluation images.",
        discussion: """
        Prints top-1, per-class accuracy and the confusion matrix (rows: true class, columns: \
        predicted). Given the student's teacher, also the teacher's accuracy, how often the two \
        agree, and the restored ratio (student / teacher accuracy).
        """)

    @Option(help: "The model file (.h5) to evaluate.") var modelFile: String
    @OptionGroup var data: DatasetOptions
    @Option(help: "The teacher of the model, for agreement and restored ratio.") var teacher: String?
    @Option(help: "Batch size.") var batch = 256
    @Option(help: "YAML file of dataset options.") var config: String?
    @Flag(help: "Print one JSON object as the last line.") var json = false

    func validate() throws {
        try CommandLineValues.check([(Double(batch), "--batch", .integers(1...65536))])
    }

    func run() throws {
        try JobRanks.run(Self.self, evaluate)
    }

    private func evaluate(over communicator: Communicator) throws {
        let file = try ConfigFile(path: config, allowedKeys: DatasetOptions.configKeys)
        let dataset = try data.load(config: file)
        let (model, description) = try ModelFile.load(modelFile)
        try ModelChecks.requireInputs(description, file: modelFile, match: dataset)
        let teacherModel = try teacher.map { path -> any Classifier in
            let (loaded, teacherDescription) = try ModelFile.load(path)
            try ModelChecks.requireInputs(teacherDescription, file: path, match: dataset)
            return loaded
        }
        // The model sees inputs normalised as in its training.
        let normalization = Normalization(mean: description.normalizationMean, std: description.normalizationStd)
        let result = Evaluation.run(model, on: dataset.eval, normalization: normalization, batchSize: batch, teacher: teacherModel,
                                    communicator: communicator)

        print("\(modelFile): \(description.architecture.rawValue) on \(dataset.eval.count) \(dataset.kind.rawValue) evaluation images")
        print(String(format: "top-1: %.2f%%", result.top1))
        print("per class: " + result.perClass.enumerated().map { String(format: "%d: %.1f%%", $0.offset, $0.element) }.joined(separator: ", "))
        if dataset.eval.classes <= 20 {
            print("confusion (rows true, columns predicted):")
            for row in result.confusion { print("  " + row.map { String(format: "%5d", $0) }.joined()) }
        }
        var fields: [String: Any] = [
            "eval_top1": result.top1, "per_class_top1": result.perClass, "confusion": result.confusion,
            "images": result.count, "model_file": modelFile, "architecture": description.architecture.rawValue,
        ]
        if let agreement = result.agreement, let teacherTop1 = result.teacherTop1 {
            let restored = 100 * result.top1 / teacherTop1
            print(String(format: "teacher top-1: %.2f%%, agreement: %.2f%%, restored ratio: %.2f%%", teacherTop1, agreement, restored))
            fields["teacher_top1"] = teacherTop1
            fields["agreement"] = agreement
            fields["restored_ratio"] = restored
        }
        if json { print(MetricsLog.jsonLine(fields)) }
    }
}
