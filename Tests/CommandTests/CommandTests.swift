import Foundation
import TestSupport
import XCTest

/// The `dfkd` command as users run it: a real process, its output and exit status.
final class CommandTests: XCTestCase {
    func testTrainTeacherThenEvaluateOnTheBuiltinDataset() throws {
        let directory = TestFiles.scratchDirectory()
        let config = directory + "/teacher.yaml"
        try "epochs: 4\nbatch: 64\nlr: 0.002\n".write(toFile: config, atomically: true, encoding: .utf8)
        let model = directory + "/teacher.h5"
        let train = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--split", "6000:500", "--model", "lenet5",
                             "--config", config, "--out", model, "--json"])
        XCTAssertEqual(train.status, 0, train.output)
        let summary = try DFKDCommand.lastJSON(train.output)
        XCTAssertEqual(summary["epochs"] as? Int, 4, "the config file's epochs apply")
        XCTAssertGreaterThan(summary["eval_top1"] as? Double ?? 0, 60, train.output)
        let metricLines = try String(contentsOfFile: directory + "/teacher.metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metricLines.count, 4)

        let eval = try DFKDCommand.run(["eval", "--model-file", model, "--dataset", "builtin", "--split", "6000:500", "--teacher", model, "--json"])
        XCTAssertEqual(eval.status, 0, eval.output)
        let result = try DFKDCommand.lastJSON(eval.output)
        XCTAssertEqual(result["eval_top1"] as? Double ?? -1, summary["eval_top1"] as? Double ?? -2, accuracy: 1e-9)
        XCTAssertEqual(result["agreement"] as? Double, 100)
        XCTAssertEqual(result["restored_ratio"] as? Double ?? 0, 100, accuracy: 1e-9)
        XCTAssertEqual((result["confusion"] as? [[Int]])?.count, 10)
    }

    func testBadInputIsAClearErrorWithStatusOne() throws {
        let directory = TestFiles.scratchDirectory()
        let missing = try DFKDCommand.run(["train-teacher", "--dataset", "mnist", "--data-dir", directory, "--model", "lenet5", "--out", directory + "/m.h5"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.output.contains(directory) && missing.output.contains("t10k-images-idx3-ubyte"), missing.output)

        let config = directory + "/typo.yaml"
        try "epoch: 3\n".write(toFile: config, atomically: true, encoding: .utf8)
        let typo = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--model", "lenet5", "--config", config, "--out", directory + "/m.h5"])
        XCTAssertEqual(typo.status, 1)
        XCTAssertTrue(typo.output.contains("unknown key epoch"), typo.output)

        let architecture = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--model", "resnet50", "--out", directory + "/m.h5"])
        XCTAssertEqual(architecture.status, 64, "a usage error")
        XCTAssertTrue(architecture.output.contains("'resnet50' is invalid for '--model") && architecture.output.contains("wrn-16-1"),
                      architecture.output)
        let fileArchitecture = directory + "/architecture.yaml"
        try "model: resnet50\n".write(toFile: fileArchitecture, atomically: true, encoding: .utf8)
        let fromFile = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--config", fileArchitecture, "--out", directory + "/m.h5"])
        XCTAssertEqual(fromFile.status, 1)
        XCTAssertTrue(fromFile.output.contains("unknown architecture 'resnet50'"), fromFile.output)

        let notModel = directory + "/notes.h5"
        TestFiles.write(Array("text".utf8), to: notModel)
        let eval = try DFKDCommand.run(["eval", "--model-file", notModel, "--dataset", "builtin"])
        XCTAssertEqual(eval.status, 1)
        XCTAssertTrue(eval.output.contains(notModel), eval.output)
    }

    /// Ctrl-C ends training cleanly: exit status 75 (stopped, resumable), the last finished
    /// epoch saved and a checkpoint of the step it stopped after.
    func testInterruptStopsCleanlyWithTheModelSaved() throws {
        let directory = TestFiles.scratchDirectory()
        let model = directory + "/teacher.h5"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DFKDCommand.binary)
        process.arguments = ["train-teacher", "--dataset", "builtin", "--split", "2000:200", "--model", "lenet5",
                             "--epochs", "1000", "--out", model, "--json"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: model) && Date() < deadline { usleep(50_000) }
        process.interrupt()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 75, output)
        XCTAssertTrue(output.contains("stopped on request"), output)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: directory + "/teacher.checkpoints")
        XCTAssertTrue(checkpoints.contains { $0.hasPrefix("checkpoint-e") && $0.hasSuffix(".h5") }, "\(checkpoints)")
        let summary = try DFKDCommand.lastJSON(output)
        XCTAssertEqual(summary["stopped_early"] as? Bool, true)
        let eval = try DFKDCommand.run(["eval", "--model-file", model, "--dataset", "builtin", "--split", "2000:200", "--json"])
        XCTAssertEqual(eval.status, 0, eval.output)
    }
}
