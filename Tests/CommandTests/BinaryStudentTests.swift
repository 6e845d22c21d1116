import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// GIP's binarised student in its two stages: binary activations with real weights, then
/// binary weights too, starting from the first stage's student (`--student-init`).
final class BinaryStudentTests: XCTestCase {
    private static let split = "64:32"

    private func distill(_ teacher: String, student: String, extra: [String], out: String) throws -> (status: Int32, output: String) {
        try DFKDCommand.run(["distill", "--teacher", teacher, "--student", student, "--method", "gip", "--dataset", "builtin",
                             "--split", Self.split, "--config", TestFiles.repositoryRoot + "/configs/gip-binary-stage1.yaml",
                             "--epochs", "1", "--iterations", "1", "--grid-every", "0", "--out", out] + extra)
    }

    func testTheSecondStageStartsFromTheFirstStagesStudent() throws {
        let directory = TestFiles.scratchDirectory()
        let teacher = directory + "/teacher.h5"
        let train = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--split", Self.split, "--model", "wrn-16-1",
                                         "--epochs", "1", "--batch", "32", "--out", teacher])
        XCTAssertEqual(train.status, 0, train.output)
        let small = directory + "/small.yaml"
        try "batch: 8\nreal-batch: 8\nnoise: 16\ngenerator-widths: [8, 8, 4]\n".write(toFile: small, atomically: true, encoding: .utf8)

        let first = try distill(teacher, student: "binary-resnet18-real-weights", extra: ["--config", small], out: directory + "/stage1")
        XCTAssertEqual(first.status, 0, first.output)
        // A learning rate of 1e-12 keeps the second stage's one step from moving the weights.
        let still = directory + "/still.yaml"
        try "student-lr: 1e-12\n".write(toFile: still, atomically: true, encoding: .utf8)
        let second = try distill(teacher, student: "binary-resnet18", extra: ["--config", small, "--config", still,
                                                                               "--student-init", directory + "/stage1/student.h5"],
                                 out: directory + "/stage2")
        XCTAssertEqual(second.status, 0, second.output)

        let (stage1, _) = try ModelFile.load(directory + "/stage1/student.h5")
        let (stage2, description) = try ModelFile.load(directory + "/stage2/student.h5")
        XCTAssertEqual(description.architecture, .binaryResNet18)
        XCTAssertEqual(description.provenance["student_init"], directory + "/stage1/student.h5")
        let before = Dictionary(uniqueKeysWithValues: stage1.namedParameters().map { ($0.0, $0.1.toArray()) })
        for (name, tensor) in stage2.namedParameters() {
            let expected = try XCTUnwrap(before[name], name)
            let worst = zip(tensor.toArray(), expected).map { Swift.abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5, "\(name) is the first stage's")
        }
        let fresh = BinaryResNet(inputChannels: 3, classes: 10, binaryWeights: true).initialize(seed: 0)
        XCTAssertNotEqual(fresh.conv1.weight.toArray(), (stage2 as! BinaryResNet).conv1.weight.toArray(), "not a fresh student")

        // A model whose weights do not fit is refused, naming the file and what does not fit.
        let wrong = try distill(teacher, student: "binary-resnet18", extra: ["--config", small, "--student-init", teacher],
                                out: directory + "/wrong")
        XCTAssertEqual(wrong.status, 1, wrong.output)
        XCTAssertTrue(wrong.output.contains("--student-init \(teacher): its wrn-16-1 weights do not fit the student"), wrong.output)
    }
}
