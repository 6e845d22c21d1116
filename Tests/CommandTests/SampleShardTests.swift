import Foundation
import NeuralNetwork
import Storage
import TensorEngine
import Training
import TestSupport
import XCTest

/// Sample shards (`--save-samples N`): what the generator made, with the teacher's logits,
/// readable by h5py, and exactly the iterations of the run once each across a resume.
final class SampleShardTests: XCTestCase {
    private typealias Runs = ShortDistillation

    private struct Shard {
        let indices: [Int64], images: [Float], logits: [Float], labels: [Int64]
    }

    private func shards(in directory: String) throws -> [String: Shard] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory + "/samples").filter { $0.hasSuffix(".h5") }.sorted()
        return try Dictionary(uniqueKeysWithValues: names.map { name in
            let file = try HDF5Group.open(directory + "/samples/" + name)
            XCTAssertEqual(try file.stringAttribute("format"), "dfkd-samples")
            return (name, Shard(indices: try file.read("index", as: Int64.self).values, images: try file.read("images", as: Float.self).values,
                                logits: try file.read("logits", as: Float.self).values, labels: try file.read("labels", as: Int64.self).values))
        })
    }

    func testShardsHoldTheBatchesAndTheTeachersLogits() throws {
        let directory = TestFiles.scratchDirectory() + "/run"
        let run = try Runs.run(Runs.distill(["--out", directory, "--save-samples", "2"], epochs: 2))
        XCTAssertEqual(run.status, 0, run.output)
        let found = try shards(in: directory)
        // Iterations 0, 2, 4, ... of 2 x 8, written at each epoch's checkpoint.
        XCTAssertEqual(found.keys.sorted(), ["samples-g000000000-g000000006-r0000.h5", "samples-g000000008-g000000014-r0000.h5"])
        let all = found.keys.sorted().map { found[$0]! }
        let indices = all.flatMap(\.indices)
        XCTAssertEqual(indices.count, 8 * 32, "8 kept batches of 32")
        XCTAssertEqual(Set(indices).count, indices.count, "each sample once")
        XCTAssertTrue(all.flatMap(\.labels).allSatisfy { (0..<10).contains($0) })

        // The stored logits are the teacher's on the stored images.
        let (teacher, _) = try ModelFile.load(Runs.teacher)
        teacher.eval()
        let first = all[0]
        let rows = first.indices.count
        let logits = withoutGradient { teacher(Tensor(shape: [rows, 3, 32, 32], values: first.images)) }.toArray()
        let scale = first.logits.map(abs).max()!
        XCTAssertLessThan(zip(logits, first.logits).map { abs($0 - $1) }.max()!, 1e-3 * max(1, scale))

        // h5py reads a shard: its shapes, its chunked, shuffled, deflated and checksummed datasets.
        let script = """
            import sys, h5py
            f = h5py.File(sys.argv[1], "r")
            images, logits = f["images"], f["logits"]
            assert images.shape[1:] == (3, 32, 32) and logits.shape[1] == 10 and images.shape[0] == logits.shape[0] == f["index"].shape[0]
            assert images.compression == "gzip" and images.shuffle and images.fletcher32 and images.maxshape[0] is None
            assert f.attrs["format"] == "dfkd-samples" and f.attrs["method"] == "cpsc"
            """
        let python = try Subprocess.run("/usr/bin/python3", ["-c", script, directory + "/samples/" + found.keys.sorted()[0]])
        XCTAssertEqual(python.status, 0, python.output)
    }

    /// A run stopped after one epoch, whose later shard a kill left behind, and resumed to
    /// two, holds exactly the uninterrupted run's samples, each once.
    func testAResumedRunHoldsEachSampleOnce() throws {
        let whole = TestFiles.scratchDirectory() + "/whole"
        XCTAssertEqual(try Runs.run(Runs.distill(["--out", whole, "--save-samples", "1"], epochs: 2)).status, 0)
        let pieces = TestFiles.scratchDirectory() + "/pieces"
        XCTAssertEqual(try Runs.run(Runs.distill(["--out", pieces, "--save-samples", "1"], epochs: 1)).status, 0)
        // As if a kill came after a shard of epoch 2 was written but before its checkpoint.
        let stale = pieces + "/samples/samples-g000000008-g000000011-r0001.h5"
        try FileManager.default.copyItem(atPath: pieces + "/samples/samples-g000000000-g000000007-r0000.h5", toPath: stale)
        let resumed = try Runs.run(Runs.distill(["--resume", pieces, "--save-samples", "1"], epochs: 2))
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "the shard beyond the checkpoint is removed")
        let (expected, found) = (try Runs.keptSamples(of: whole), try Runs.keptSamples(of: pieces))
        XCTAssertEqual(found.count, 16 * 32)
        XCTAssertEqual(found, expected)
    }

    /// A student trained on stored samples: the same on one rank and on two, resumed from
    /// a checkpoint in an epoch's middle bit for bit, and without a generator.
    func testAStudentTrainsFromStoredSamplesOnAnyNumberOfRanks() throws {
        let directory = TestFiles.scratchDirectory()
        let written = directory + "/written"
        XCTAssertEqual(try Runs.run(Runs.distill(["--out", written, "--save-samples", "1"], epochs: 1)).status, 0)
        // Adam at the trajectory checks' student step (CheckpointResumeTests): at 2e-3 the
        // rounding of 2 ranks' sums, amplified by the log-L2 term near a small norm, moved
        // the losses 1e-3 apart within an epoch.
        let steps = directory + "/steps.yaml"
        try "student-lr: 0.001\n".write(toFile: steps, atomically: true, encoding: .utf8)
        let samples = ["--from-samples", written + "/samples/*.h5", "--config", steps]
        let alone = directory + "/alone"
        let run = try Runs.run(Runs.distill(["--out", alone, "--checkpoint-every", "4", "--keep-checkpoints", "100"] + samples, epochs: 2))
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("on 256 stored samples of 1 shard(s)"), run.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: alone + "/generator.h5"), "no generator is trained")
        let expected = try Runs.result(of: alone)
        let losses = expected.metrics.map { $0["s_total"] as? Double ?? .nan }
        XCTAssertLessThan(losses[1], losses[0], "the student learns from the stored logits: \(losses)")
        XCTAssertNil(expected.metrics[0]["g_total"], "no generator step")

        // Resumed from the middle of epoch 2: the same run bit for bit.
        let resumed = directory + "/resumed"
        let middle = RunDirectory.checkpointName(epoch: 1, iteration: 4)
        try FileManager.default.createDirectory(atPath: resumed + "/checkpoints", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: alone + "/checkpoints/" + middle, toPath: resumed + "/checkpoints/" + middle)
        try FileManager.default.copyItem(atPath: alone + "/metrics.jsonl", toPath: resumed + "/metrics.jsonl")
        let again = try Runs.run(Runs.distill(["--resume", resumed, "--config", steps], epochs: 2))
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(try Runs.result(of: resumed).state, expected.state)

        // Two ranks share every stored batch and follow the same trajectory.
        let ranked = directory + "/ranked"
        let two = try Runs.run(Runs.distill(["--out", ranked] + samples, epochs: 2), ranks: 2)
        XCTAssertEqual(two.status, 0, two.output)
        let found = try Runs.result(of: ranked)
        for (a, b) in zip(found.metrics, expected.metrics) {
            let (x, y) = (a["s_total"] as? Double ?? .nan, b["s_total"] as? Double ?? .nan)
            XCTAssertLessThan(abs(x - y), 1e-3 * max(1, abs(y)), "s_total on 2 ranks \(x), on one \(y)")
        }

        // Shards of another teacher are refused.
        let other = try Runs.run(Runs.distill(["--out", directory + "/other"] + samples, epochs: 1).map { $0 == Runs.teacher ? written + "/student.h5" : $0 })
        XCTAssertEqual(other.status, 1, other.output)
        XCTAssertTrue(other.output.contains("its samples are of the teacher"), other.output)
    }

    /// A run kept on two ranks and resumed on one (and back): each sample index of every
    /// iteration once, in the files of the ranks that made it.
    func testAResumeOnAnotherRankCountKeepsEachSampleOnce() throws {
        let directory = TestFiles.scratchDirectory() + "/run"
        XCTAssertEqual(try Runs.run(Runs.distill(["--out", directory, "--save-samples", "1"], epochs: 1), ranks: 2).status, 0)
        let resumed = try Runs.run(Runs.distill(["--resume", directory, "--save-samples", "1"], epochs: 2))
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertEqual(try Runs.run(Runs.distill(["--resume", directory, "--save-samples", "1"], epochs: 3), ranks: 2).status, 0)
        let whole = TestFiles.scratchDirectory() + "/whole"
        XCTAssertEqual(try Runs.run(Runs.distill(["--out", whole, "--save-samples", "1"], epochs: 3), ranks: 2).status, 0)
        let kept = try Runs.keptSamples(of: directory)
        XCTAssertEqual(kept.count, 3 * 8 * 32)
        XCTAssertEqual(kept.keys.sorted(), try Runs.keptSamples(of: whole).keys.sorted())
        let names = try FileManager.default.contentsOfDirectory(atPath: directory + "/samples").sorted()
        XCTAssertEqual(names, ["samples-g000000000-g000000007-r0000.h5", "samples-g000000000-g000000007-r0001.h5",
                               "samples-g000000008-g000000015-r0000.h5",
                               "samples-g000000016-g000000023-r0000.h5", "samples-g000000016-g000000023-r0001.h5"])
    }
}
