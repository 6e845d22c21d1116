import Foundation
import NeuralNetwork
import Storage
import TensorEngine
import TestSupport
import XCTest

final class ModelFileTests: XCTestCase {
    private func description(_ architecture: Architecture, channels: Int = 3) -> ModelDescription {
        ModelDescription(architecture: architecture, classes: 10, inputShape: [channels, 32, 32],
                         normalizationMean: [Float](repeating: 0.5, count: channels), normalizationStd: [Float](repeating: 0.25, count: channels),
                         provenance: ["dataset": "builtin", "seed": "3"])
    }

    /// A WRN after a training step (moved running statistics, counters) survives a round trip
    /// bit for bit.
    func testRoundTripIsBitIdentical() throws {
        let path = TestFiles.scratchDirectory() + "/wrn.h5"
        let net = WideResNet(depth: 16, widen: 1).initialize(seed: 5)
        let x = Tensor.uniform([4, 3, 32, 32], low: -1, high: 1, generator: Philox(seed: 1))
        Loss.crossEntropy(net(x), labels: [0, 1, 2, 3]).backward()
        try ModelFile.write(net, description: description(.wrn16x1), to: path)
        let (loaded, readBack) = try ModelFile.load(path)
        XCTAssertEqual(readBack, description(.wrn16x1))
        let original = Dictionary(uniqueKeysWithValues: net.namedFloatState().map { ($0.0, $0.1.toArray()) })
        for (name, tensor) in loaded.namedFloatState() {
            XCTAssertEqual(tensor.toArray().map(\.bitPattern), original[name]?.map(\.bitPattern), name)
        }
        let counters = loaded.namedBuffers().compactMap { name, buffer -> (String, Int)? in
            if case .counter(let c) = buffer { return (name, c.value) }
            return nil
        }
        XCTAssertFalse(counters.isEmpty)
        XCTAssertTrue(counters.allSatisfy { $0.1 == 1 }, "\(counters)")
    }

    func testArchitectureAndShapeMismatchesAreNamed() throws {
        let directory = TestFiles.scratchDirectory()
        let lenet = directory + "/lenet.h5"
        try ModelFile.write(LeNet5().initialize(seed: 1), description: description(.lenet5, channels: 1), to: lenet)
        XCTAssertThrowsError(try ModelFile.load(lenet, expecting: .wrn16x1)) { error in
            XCTAssertTrue("\(error)".contains("holds a lenet5, expected a wrn-16-1"), "\(error)")
        }
        // Weights of a 3-channel LeNet under a description that says 1 channel.
        let mismatched = directory + "/mismatched.h5"
        try ModelFile.write(LeNet5(inputChannels: 3).initialize(seed: 1), description: description(.lenet5, channels: 1), to: mismatched)
        XCTAssertThrowsError(try ModelFile.load(mismatched)) { error in
            XCTAssertTrue("\(error)".contains("state/conv1.weight has shape [6, 3, 5, 5], the model expects [6, 1, 5, 5]"), "\(error)")
        }
    }

    func testNonModelAndTruncatedFilesAreClearErrors() throws {
        let directory = TestFiles.scratchDirectory()
        let text = directory + "/notes.h5"
        TestFiles.write(Array("not hdf5".utf8), to: text)
        XCTAssertThrowsError(try ModelFile.load(text)) { XCTAssertTrue("\($0)".contains("not a readable HDF5 file"), "\($0)") }
        let good = directory + "/good.h5"
        try ModelFile.write(LeNet5().initialize(seed: 1), description: description(.lenet5, channels: 1), to: good)
        let bytes = [UInt8](FileManager.default.contents(atPath: good)!)
        let truncated = directory + "/truncated.h5"
        TestFiles.write(Array(bytes.prefix(bytes.count / 2)), to: truncated)
        XCTAssertThrowsError(try ModelFile.load(truncated)) { XCTAssertTrue("\($0)".contains(truncated), "\($0)") }
    }

    /// A failed write leaves the previous file whole and no temporary file behind.
    func testFailedWriteKeepsThePreviousFile() throws {
        let directory = TestFiles.scratchDirectory()
        let path = directory + "/model.h5"
        try ModelFile.write(LeNet5().initialize(seed: 1), description: description(.lenet5, channels: 1), to: path)
        let before = FileManager.default.contents(atPath: path)
        struct Interrupted: Error {}
        XCTAssertThrowsError(try AtomicFile.write(path) { temporary in
            TestFiles.write([1, 2, 3], to: temporary)
            throw Interrupted()
        })
        XCTAssertEqual(FileManager.default.contents(atPath: path), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["model.h5"])
    }

    /// h5dump (the HDF5 tools every user has) reads the file, its attributes and a weight.
    func testH5dumpReadsAModelFile() throws {
        let path = TestFiles.scratchDirectory() + "/lenet.h5"
        let net = LeNet5().initialize(seed: 1)
        try ModelFile.write(net, description: description(.lenet5, channels: 1), to: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/h5dump")
        process.arguments = ["-a", "/architecture", "-d", "/state/fc2.bias", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("\"lenet5\""), output)
        XCTAssertTrue(output.contains("DATASPACE  SIMPLE { ( 10 ) / ( 10 ) }"), output)
        let firstBias = String(format: "%g", net.fc2.bias!.toArray()[0])
        XCTAssertTrue(output.contains(String(firstBias.prefix(6))), "\(firstBias) not in \(output)")
    }
}
