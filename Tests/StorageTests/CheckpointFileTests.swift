import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// Checkpoint files and their series, below the commands: what is written reads back bit
/// for bit, and what does not fit is refused with the place.
final class CheckpointFileTests: XCTestCase {
    private func contents() -> CheckpointFile.Contents {
        var state = StateArchive()
        state.add("student/conv1.weight", .floats([1, -0.5, .nan, 3, 4, 5]), shape: [1, 2, 3])
        state.add("student/bn1.num_batches_tracked", scalar: 7)
        state.add("epoch_terms/sums/s_kd", scalar: 0.25)
        state.add("optimizers/student/exp_avg", .floats([0, 1e-30]))
        return CheckpointFile.Contents(attributes: ["kind": .text("distillation"), "epoch": .integer(3), "best_top1": .number(-.infinity),
                                                    "settings": .text("seed: 1\nsplit: '8000:2000'\n")], state: state)
    }

    func testWrittenCheckpointReadsBackBitForBit() throws {
        let path = TestFiles.scratchDirectory() + "/checkpoint.h5"
        try CheckpointFile.write(contents(), to: path)
        let read = try CheckpointFile.read(path)
        XCTAssertEqual(read, contents())
        XCTAssertEqual(read.state["student/conv1.weight"]?.shape, [1, 2, 3])
        XCTAssertEqual(try read.integer("epoch", in: path), 3)
        XCTAssertThrowsError(try read.text("epoch", in: path)) { XCTAssertTrue("\($0)".contains("root attribute 'epoch' is not a string")) }
    }

    /// The message the ranks of a job share carries the same contents.
    func testContentsSurviveTheirEncoding() throws {
        XCTAssertEqual(try CheckpointFile.Contents(decoding: contents().encoded()), contents())
        XCTAssertThrowsError(try StateArchive(decoding: Array(contents().encoded().dropLast(3))))
    }

    func testAModelFileIsNotACheckpoint() throws {
        let path = TestFiles.scratchDirectory() + "/model.h5"
        try ModelFile.write(Linear(2, 3).initialize(seed: 1), description: ModelDescription(architecture: .lenet5, classes: 3, inputShape: [1, 28, 28],
                                                                                           normalizationMean: [0], normalizationStd: [1]), to: path)
        XCTAssertThrowsError(try CheckpointFile.read(path)) {
            XCTAssertEqual("\($0)", "\(path): is not a DataFreeKD checkpoint (root attribute 'format' is 'dfkd-model', expected 'dfkd-checkpoint')")
        }
    }

    /// Newest first: a series keeps the newest `keep`, and passes over damaged ones.
    func testSeriesKeepsTheNewestAndPassesOverDamagedOnes() throws {
        let series = CheckpointSeries(directory: TestFiles.scratchDirectory() + "/checkpoints", keep: 2)
        for epoch in 1...3 { try series.write(contents(), name: "checkpoint-e\(epoch).h5") }
        try series.waitForWrites()
        XCTAssertEqual(series.files().map { ($0 as NSString).lastPathComponent }, ["checkpoint-e2.h5", "checkpoint-e3.h5"])
        XCTAssertEqual(truncate(series.files()[1], 100), 0)
        guard case let .readable(path, read, passedOver) = series.newest() else { return XCTFail("no readable checkpoint") }
        XCTAssertEqual((path as NSString).lastPathComponent, "checkpoint-e2.h5")
        XCTAssertEqual(read, contents())
        XCTAssertEqual(passedOver.count, 1)
        XCTAssertEqual(truncate(series.files()[0], 100), 0)
        guard case .noneReadable(let errors) = series.newest() else { return XCTFail("damaged checkpoints were read") }
        XCTAssertEqual(errors.count, 2)
        guard case .none = CheckpointSeries(directory: TestFiles.scratchDirectory()).newest() else { return XCTFail("an empty directory") }
    }
}
