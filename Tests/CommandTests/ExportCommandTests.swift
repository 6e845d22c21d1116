import Foundation
import Interchange
import NeuralNetwork
import Storage
import TensorEngine
import TestSupport
import XCTest

/// `dfkd export` on a student as distillation leaves it: its batch norms' running statistics
/// and weights come from training, not from initialisation.
final class ExportCommandTests: XCTestCase {
    private static let split = "2000:300"

    /// A LeNet-5 teacher and a WRN-16-1 student distilled from it by CPSC-DFKD, made once
    /// for the class.
    private static let trainedStudent: Result<String, Error> = Result {
        let directory = TestFiles.scratchDirectory()
        let train = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--split", split, "--model", "lenet5",
                                         "--epochs", "2", "--batch", "64", "--lr", "0.002", "--out", directory + "/teacher.h5"])
        guard train.status == 0 else { throw Failure("train-teacher failed:\n" + train.output) }
        let config = directory + "/small.yaml"
        try "batch: 32\ngenerator-widths: [16, 16, 8]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let distill = try DFKDCommand.run(["distill", "--teacher", directory + "/teacher.h5", "--student", "wrn-16-1", "--method", "cpsc",
                                           "--dataset", "builtin", "--split", split, "--config", config, "--epochs", "2", "--iterations", "5",
                                           "--grid-every", "0", "--out", directory + "/run"])
        guard distill.status == 0 else { throw Failure("distill failed:\n" + distill.output) }
        return directory + "/run/student.h5"
    }

    private struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private func export(_ model: String, to file: String) throws -> (status: Int32, output: String) {
        try DFKDCommand.run(["export", model, "--to", file])
    }

    func testTheExportsHoldTheStudentsTensorsAndItsFacts() throws {
        let student = try Self.trainedStudent.get()
        let directory = TestFiles.scratchDirectory()
        let (network, description) = try ModelFile.load(student)
        let expected = StateExport.stateDictionary(of: network)
        let runningMean = try XCTUnwrap(expected["block1.layer.0.bn1.running_mean"])
        XCTAssertTrue(runningMean.floats().contains { $0 != 0 }, "the running statistics are the distillation's")

        for file in ["student.pth", "student.safetensors"] {
            let result = try export(student, to: directory + "/" + file)
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("dfkd_models.make('wrn-16-1', 3, 10)"), result.output)
            let read = file.hasSuffix(".pth") ? try TorchCheckpoint.read(directory + "/" + file).state
                                              : try Safetensors.read(directory + "/" + file).state
            XCTAssertEqual(read.tensors.map(\.name), expected.tensors.map(\.name), file)
            for ((name, a), (_, b)) in zip(read.tensors, expected.tensors) {
                XCTAssertEqual(a.bytes, b.bytes, "\(file): \(name)")
            }
        }
        let metadata = try Safetensors.read(directory + "/student.safetensors").metadata
        XCTAssertEqual(metadata["architecture"], "wrn-16-1")
        XCTAssertEqual(metadata["input_shape"], "3,32,32")
        XCTAssertEqual(metadata["normalization_mean"], description.normalizationMean.map { "\($0)" }.joined(separator: ","))

        let onnx = try export(student, to: directory + "/student.onnx")
        XCTAssertEqual(onnx.status, 0, onnx.output)
        XCTAssertTrue(onnx.output.contains("as an ONNX graph (opset 13, batch norm"), onnx.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
                       ["student.onnx", "student.pth", "student.safetensors"], "no temporary file is left behind")
    }

    func testRefusalsNameWhatWasExpectedAndWriteNothing() throws {
        let student = try Self.trainedStudent.get()
        let directory = TestFiles.scratchDirectory()
        for (model, to, status, message) in [
            (student, directory + "/student.txt", Int32(64), "--to '\(directory)/student.txt': expected a .pth, .pt, .safetensors or .onnx file"),
            (directory + "/missing.h5", directory + "/student.pth", 1, directory + "/missing.h5"),
            (student, directory, 64, directory),
        ] {
            let result = try export(model, to: to)
            XCTAssertEqual(result.status, status, result.output)
            XCTAssertTrue(result.output.contains(message), result.output)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    /// An export that fills the disk fails with "no space left on device" and leaves the
    /// previous export whole, with no temporary file beside it (a small tmpfs as the disk).
    func testAFullDiskKeepsThePreviousExport() throws {
        let student = try Self.trainedStudent.get()
        let sizes = TestFiles.scratchDirectory()
        let first = try export(student, to: sizes + "/student.pth")
        XCTAssertEqual(first.status, 0, first.output)
        let previous = try Data(contentsOf: URL(fileURLWithPath: sizes + "/student.pth"))
        // Room for the previous export and half of the next.
        guard let disk = try TestFiles.mountTmpfs("size=\(previous.count + previous.count / 2)") else { return }
        defer { _ = try? Subprocess.run("/bin/umount", [disk]) }
        try previous.write(to: URL(fileURLWithPath: disk + "/student.pth"))

        let full = try export(student, to: disk + "/student.pth")
        XCTAssertEqual(full.status, 1, full.output)
        XCTAssertTrue(full.output.contains("no space left on device"), full.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: disk + "/student.pth")), previous, "the previous export is whole")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk), ["student.pth"], "no temporary file is left")
    }

    /// The distilled student's ONNX export gives its logits in onnxruntime, in every run of
    /// the suite.
    func testOnnxRuntimeGivesTheDistilledStudentsLogits() throws {
        try checkExports(["student.onnx"], python: try TorchPython.onnxPath())
    }

    /// Where torch is installed: the .pth and .safetensors exports, loaded strictly into
    /// reference/dfkd_models.py, give the student's logits in PyTorch.
    func testPyTorchGivesTheDistilledStudentsLogits() throws {
        try checkExports(["student.pth", "student.safetensors"], python: try TorchPython.path())
    }

    private func checkExports(_ files: [String], python: String) throws {
        let student = try Self.trainedStudent.get()
        let directory = TestFiles.scratchDirectory()
        for file in files {
            let result = try export(student, to: directory + "/" + file)
            XCTAssertEqual(result.status, 0, result.output)
        }
        let (network, description) = try ModelFile.load(student)
        network.eval()
        // Normalised inputs as the model takes them, spread as normalised images are.
        var random = SplitMix64(seed: 15)
        let shape = [8] + description.inputShape
        let inputs = (0..<shape.reduce(1, *)).map { _ in Float(random.next() % 4001) / 1000 - 2 }
        try Safetensors.write(StateDictionary([("input", StoredTensor(floats: inputs, shape: shape))]), to: directory + "/batch.safetensors")
        let expected = withoutGradient { network(Tensor(shape: shape, values: inputs)).toArray() }

        let run = try TorchPython.runExports(python, architecture: "wrn-16-1", channels: description.inputShape[0], classes: description.classes,
                                             batch: directory + "/batch.safetensors", files: files.map { directory + "/" + $0 },
                                             logits: directory + "/logits.safetensors")
        XCTAssertEqual(run.status, 0, run.output)
        let logits = try Safetensors.read(directory + "/logits.safetensors").state
        for file in files {
            let found = try XCTUnwrap(logits[file], run.output)
            Goldens.assertClose(expected, GoldenTensor(shape: found.shape, values: found.floats()), "\(file): dfkd against \(python)")
        }
    }
}
