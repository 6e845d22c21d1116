import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// The student a run keeps is chosen without real images, and the run says without them
/// whether its generator collapsed.
final class DataFreeChoiceTests: XCTestCase {
    private typealias Runs = ShortDistillation

    private func floatState(_ path: String) throws -> [String: [UInt32]] {
        let (model, _) = try ModelFile.load(path)
        return Dictionary(uniqueKeysWithValues: model.namedFloatState().map { ($0.0, $0.1.toArray().map(\.bitPattern)) })
    }

    /// A run that reads no real image keeps the same student, to the bit, as one that reports
    /// accuracies on an evaluation set: the choice never looks at them.
    func testTheKeptStudentIsTheSameWithoutAnyRealImage() throws {
        let directory = TestFiles.scratchDirectory()
        let rule = directory + "/rule.yaml"
        try "selection: agreement\n".write(toFile: rule, atomically: true, encoding: .utf8)
        let withImages = try Runs.run(Runs.distill(["--out", directory + "/with", "--config", rule, "--json"], epochs: 4))
        XCTAssertEqual(withImages.status, 0, withImages.output)
        let without = try Runs.run(Runs.distill(["--out", directory + "/without", "--config", rule, "--no-real-data", "--json"], epochs: 4))
        XCTAssertEqual(without.status, 0, without.output)
        XCTAssertTrue(without.output.contains("no real images read"), without.output)

        let reported = try DFKDCommand.lastJSON(withImages.output), blind = try DFKDCommand.lastJSON(without.output)
        XCTAssertEqual(reported["picked_epoch"] as? Int, blind["picked_epoch"] as? Int)
        XCTAssertNotNil(reported["student_top1"] as? Double, withImages.output)
        XCTAssertTrue(blind["student_top1"] is NSNull, "no accuracy without real images: \(without.output)")
        for name in ["student.h5", "student-last.h5"] {
            XCTAssertEqual(try floatState(directory + "/with/" + name), try floatState(directory + "/without/" + name), name)
        }
        let metrics = try String(contentsOfFile: directory + "/without/metrics.jsonl", encoding: .utf8)
        XCTAssertEqual(metrics.split(separator: "\n").count, 4)
        XCTAssertTrue(metrics.contains("\"probe_divergence\""), metrics)
    }

    /// A run that studies every rule, stopped after 2 epochs and resumed to 4, keeps the same
    /// probe bank, the same picks and the same student.h5 as the run of 4 epochs straight.
    func testTheBankAndThePicksResumeExactly() throws {
        let directory = TestFiles.scratchDirectory()
        let study = directory + "/study.yaml"
        try "selection: agreement\nselection-study: true\nprobe-states: 2\n".write(toFile: study, atomically: true, encoding: .utf8)
        let straight = try Runs.run(Runs.distill(["--out", directory + "/straight", "--config", study], epochs: 4))
        XCTAssertEqual(straight.status, 0, straight.output)
        let first = try Runs.run(Runs.distill(["--out", directory + "/resumed", "--config", study], epochs: 2))
        XCTAssertEqual(first.status, 0, first.output)
        let second = try Runs.run(Runs.distill(["--resume", directory + "/resumed", "--config", study], epochs: 4))
        XCTAssertEqual(second.status, 0, second.output)

        let (a, b) = (try Runs.result(of: directory + "/resumed"), try Runs.result(of: directory + "/straight"))
        for group in ["probes/", "selection/"] {
            let names = b.state.names.filter { $0.hasPrefix(group) }
            XCTAssertFalse(names.isEmpty, "the checkpoint keeps \(group)")
            XCTAssertEqual(names.filter { a.state[$0] != b.state[$0] }, [], "differ from the straight run")
        }
        XCTAssertEqual(a.state.names.filter { $0.hasPrefix("probes/") }.count, b.state.names.filter { $0.hasPrefix("probes/") }.count)
        XCTAssertEqual(a.metrics, b.metrics, "metrics.jsonl, picks by rule included")
        XCTAssertNotNil(b.metrics.last?["picked_epoch_by_rule"], "\(b.metrics.last ?? [:])")
        XCTAssertEqual(try floatState(directory + "/resumed/student.h5"), try floatState(directory + "/straight/student.h5"))
    }

    /// LeNet-5 without batch norm on Fashion-MNIST, with the MNIST recipe: the generator
    /// loses classes within a few epochs, and the run names them.
    func testCollapsedClassesAreNamedOnFashionMNISTWithoutBatchNorm() throws {
        let directory = TestFiles.scratchDirectory()
        let teacher = directory + "/teacher.h5"
        let train = try DFKDCommand.run(["train-teacher", "--dataset", "fashion-mnist", "--split", "20000:2000", "--model", "lenet5",
                                         "--epochs", "2", "--batch", "64", "--lr", "0.001", "--out", teacher])
        XCTAssertEqual(train.status, 0, train.output)
        let recipe = try String(contentsOfFile: TestFiles.repositoryRoot + "/configs/mnist/cpsc.yaml", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("dataset:") && !$0.hasPrefix("split:") }.joined(separator: "\n")
        try recipe.write(toFile: directory + "/recipe.yaml", atomically: true, encoding: .utf8)
        let run = try DFKDCommand.run(["distill", "--teacher", teacher, "--student", "lenet5-half", "--config", directory + "/recipe.yaml",
                                       "--dataset", "fashion-mnist", "--split", "20000:2000", "--epochs", "2", "--iterations", "10",
                                       "--grid-every", "0", "--out", directory + "/run", "--json"])
        XCTAssertEqual(run.status, 0, run.output)
        let summary = try DFKDCommand.lastJSON(run.output)
        let collapsed = try XCTUnwrap(summary["collapsed_classes"] as? [Int], run.output)
        XCTAssertFalse(collapsed.isEmpty, "no class named collapsed: \(run.output)")
        let warning = try XCTUnwrap(run.output.split(separator: "\n").first { $0.hasPrefix("warning: ") }, run.output)
        for c in collapsed { XCTAssertTrue(warning.contains(" \(c) ("), "class \(c) is not named in: \(warning)") }
        let shares = try XCTUnwrap(summary["probe_class_shares"] as? [Double], run.output)
        XCTAssertEqual(shares.count, 10)
        XCTAssertEqual(shares.reduce(0, +), 100, accuracy: 1e-6)
    }
}
