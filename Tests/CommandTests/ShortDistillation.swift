import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// Short CPSC-DFKD runs on the built-in dataset from one small teacher, for the tests of
/// checkpoints and resume.
enum ShortDistillation {
    static let split = "2000:300"
    /// The shared directory with the teacher and the settings file, made once.
    static let shared: String = {
        let directory = TestFiles.scratchDirectory("short-distillation")
        let train = try! DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--split", split, "--model", "lenet5",
                                          "--epochs", "2", "--batch", "64", "--lr", "0.002", "--out", directory + "/teacher.h5"])
        precondition(train.status == 0, train.output)
        try! "batch: 32\ngenerator-widths: [8, 8, 4]\nstudent-optimizer: adam\nstudent-lr: 0.002\nstudent-schedule: constant\nstudent-ema: 0.9\n"
            .write(toFile: directory + "/small.yaml", atomically: true, encoding: .utf8)
        return directory
    }()
    static var teacher: String { shared + "/teacher.h5" }

    /// A short CPSC-DFKD run's arguments; the options name its directory (--out or --resume).
    static func distill(_ options: [String], epochs: Int = 3) -> [String] {
        ["distill", "--teacher", teacher, "--student", "lenet5-half", "--method", "cpsc", "--dataset", "builtin", "--split", split,
         "--config", shared + "/small.yaml", "--epochs", "\(epochs)", "--iterations", "8", "--grid-every", "0",
         "--checkpoint-minutes", "0"] + options
    }

    static let launcher = TestFiles.repositoryRoot + "/launch/mpirun.sh"

    /// `dfkd ARGUMENTS`, alone or through the launcher on `ranks` ranks.
    static func command(_ arguments: [String], ranks: Int?) -> (executable: String, arguments: [String]) {
        guard let ranks else { return (DFKDCommand.binary, arguments) }
        return ("/bin/bash", [launcher, "--ranks", "\(ranks)", "--", DFKDCommand.binary] + arguments)
    }

    static func run(_ arguments: [String], ranks: Int? = nil) throws -> (status: Int32, output: String) {
        let (executable, arguments) = command(arguments, ranks: ranks)
        return try Subprocess.run(executable, arguments)
    }

    /// The state of a run's newest checkpoint and its metrics lines without wall times and planned epochs.
    static func result(of directory: String) throws -> (state: StateArchive, metrics: [NSDictionary], checkpoint: String) {
        try result(checkpoints: directory + "/checkpoints", metrics: directory + "/metrics.jsonl")
    }

    /// The same for train-teacher's BASE.checkpoints/ and BASE.metrics.jsonl.
    static func checkpointsAndMetrics(_ base: String) throws -> (state: StateArchive, metrics: [NSDictionary], checkpoint: String) {
        try result(checkpoints: base + ".checkpoints", metrics: base + ".metrics.jsonl")
    }

    private static func result(checkpoints: String, metrics: String) throws -> (state: StateArchive, metrics: [NSDictionary], checkpoint: String) {
        let newest = try XCTUnwrap(CheckpointSeries(directory: checkpoints).files().last, "no checkpoint in \(checkpoints)")
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        let metrics = try text.split(separator: "\n").map { line -> NSDictionary in
            let fields = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            // The time and the epochs planned when each line was written differ between an
            // interrupted or extended run and a straight one.
            return fields.filter { $0.key != "wall_seconds" && $0.key != "planned_epochs" } as NSDictionary
        }
        return (try CheckpointFile.read(newest).state, metrics, newest)
    }

    /// Every sample a run's shards hold, by global index, each row's image values; a
    /// sample stored twice fails the test.
    static func keptSamples(of directory: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Int64: [Float]] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/samples")) ?? []).filter { $0.hasSuffix(".h5") }
        var byIndex: [Int64: [Float]] = [:]
        for name in names {
            let shard = try HDF5Group.open(directory + "/samples/" + name)
            let indices = try shard.read("index", as: Int64.self).values, images = try shard.read("images", as: Float.self).values
            let size = images.count / max(1, indices.count)
            for (row, index) in indices.enumerated() {
                XCTAssertNil(byIndex[index], "sample \(index) is stored twice (\(name))", file: file, line: line)
                byIndex[index] = Array(images[(row * size)..<((row + 1) * size)])
            }
        }
        return byIndex
    }
}
