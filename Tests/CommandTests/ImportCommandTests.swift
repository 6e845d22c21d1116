import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// `dfkd import`: a teacher from the PyTorch fixtures (Tests/Fixtures/make_torch_fixtures.py)
/// as a model file whose weights are the checkpoint's, usable by every command; bad input
/// named with what was expected.
final class ImportCommandTests: XCTestCase {
    private let fixtures = TestFiles.repositoryRoot + "/Tests/Fixtures/torch/"

    private func importing(_ file: String, architecture: String = "lenet5-half", shape: String = "1,32,32", normalization: String = "mnist",
                           out: String) throws -> (status: Int32, output: String) {
        try DFKDCommand.run(["import", fixtures + file, "--architecture", architecture, "--classes", "10", "--input-shape", shape,
                             "--normalization", normalization, "--out", out])
    }

    func testAnImportedTeacherHoldsTheCheckpointsWeightsAndDistils() throws {
        let directory = TestFiles.scratchDirectory()
        var weights: [[Float]] = []
        for file in ["lenet5-half.pth", "lenet5-half-under-state_dict.pth", "lenet5-half-dataparallel.pth", "lenet5-half.safetensors"] {
            let out = directory + "/" + file + ".h5"
            let result = try importing(file, out: out)
            XCTAssertEqual(result.status, 0, result.output)
            let (model, description) = try ModelFile.load(out)
            XCTAssertEqual(description.architecture, .lenet5Half)
            XCTAssertEqual(description.normalizationMean, [0.1307])
            XCTAssertEqual(description.provenance["imported_from"], fixtures + file)
            weights.append(model.namedFloatState().flatMap { $0.1.toArray() })
        }
        XCTAssertTrue(weights.allSatisfy { $0 == weights[0] }, "every layout gives the same weights")
        XCTAssertFalse(weights[0].allSatisfy { $0 == 0 })

        // An imported teacher is a teacher like any other.
        let teacher = directory + "/lenet5-half.pth.h5"
        let distill = try DFKDCommand.run(["distill", "--teacher", teacher, "--student", "lenet5-half", "--method", "dafl", "--dataset", "mnist",
                                           "--data-dir", TestFiles.mnistDirectory, "--split", "100:100", "--epochs", "1", "--iterations", "2",
                                           "--grid-every", "0", "--out", directory + "/run"])
        XCTAssertEqual(distill.status, 0, distill.output)
    }

    func testRefusalsNameTheFileAndWhatWasExpected() throws {
        let out = TestFiles.scratchDirectory() + "/model.h5"
        for (file, architecture, shape, normalization, status, message) in [
            ("lenet5-half-whole-module.pth", "lenet5-half", "1,32,32", "mnist", Int32(1), "holds a whole pickled module (dfkd_models.LeNet5)"),
            ("hostile-global.pth", "lenet5-half", "1,32,32", "mnist", 1, "calls posix.system, which a model file has no reason to call; refused"),
            ("lenet5-half.pth", "lenet5", "1,32,32", "mnist", 1, "does not fit the architecture:\n  conv1.weight: shape [3, 1, 5, 5], the model has [6, 1, 5, 5]"),
            ("lenet5-half.pth", "lenet5-half", "1,28,28", "mnist", 64, "the zoo's architectures take 32 x 32 images"),
            ("lenet5-half.pth", "lenet5-half", "1,32,32", "mnlst", 64, "--normalization 'mnlst': expected a preset (builtin, cifar10"),
            ("lenet5-half.pth", "lenet5-half", "1,32,32", "0.5,0.5/0.2,0.2,0.2", 64, "gives 2 means and 3 stds for 1 channel(s)"),
            ("missing.pth", "lenet5-half", "1,32,32", "mnist", 1, "missing.pth: no such file"),
        ] {
            let result = try importing(file, architecture: architecture, shape: shape, normalization: normalization, out: out)
            XCTAssertEqual(result.status, status, "\(file): \(result.output)")
            XCTAssertTrue(result.output.contains(message), "\(file) as \(architecture): \(result.output)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a refused import writes nothing")
        }
    }
}
