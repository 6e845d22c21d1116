import Foundation
import Storage
import TestSupport
import XCTest

/// `dfkd inspect` on every kind of file the project writes and on another writer's, and
/// `--verify` finding a flipped byte inside a compressed chunk.
final class InspectTests: XCTestCase {
    private typealias Runs = ShortDistillation

    /// A one-epoch run that kept every batch: a student, a generator, checkpoints and shards.
    private static let run: String = {
        let directory = TestFiles.scratchDirectory("inspect") + "/run"
        let result = try! Runs.run(Runs.distill(["--out", directory, "--save-samples", "1"], epochs: 1))
        precondition(result.status == 0, result.output)
        return directory
    }()

    private func inspect(_ arguments: [String]) throws -> (status: Int32, report: [String: Any], output: String) {
        let result = try DFKDCommand.run(["inspect", "--json"] + arguments)
        return (result.status, try DFKDCommand.lastJSON(result.output), result.output)
    }

    private func files(_ report: [String: Any]) throws -> [[String: Any]] { try XCTUnwrap(report["files"] as? [[String: Any]]) }

    private func summary(_ file: [String: Any]) throws -> [String: Any] { try XCTUnwrap(file["summary"] as? [String: Any], "\(file)") }

    private func python(_ script: String, _ arguments: [String]) throws {
        let result = try Subprocess.run("/usr/bin/python3", ["-c", script] + arguments)
        XCTAssertEqual(result.status, 0, result.output)
    }

    func testEveryKindOfFileIsSummarisedAndListed() throws {
        let run = Self.run
        let checkpoint = try XCTUnwrap(CheckpointSeries(directory: run + "/checkpoints").files().last)
        let teacherCheckpoint = try XCTUnwrap(CheckpointSeries(directory: Runs.shared + "/teacher.checkpoints").files().last)
        let foreign = TestFiles.scratchDirectory() + "/foreign.h5"
        try python("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], "w") as f:
                f.attrs["title"] = "measurements"
                g = f.create_group("raw/day1")
                d = g.create_dataset("volts", data=np.arange(600, dtype=np.int16).reshape(20, 30), chunks=(5, 30), compression="gzip", compression_opts=6)
                d.attrs["scale"] = np.array([0.5, 2.0])
            """, [foreign])
        let shards = try FileManager.default.contentsOfDirectory(atPath: run + "/samples").sorted().map { run + "/samples/" + $0 }
        let paths = [Runs.teacher, run + "/student.h5", run + "/generator.h5", checkpoint, teacherCheckpoint, foreign] + shards
        let (status, report, output) = try inspect(paths)
        XCTAssertEqual(status, 0, output)
        let entries = try files(report)
        XCTAssertEqual(entries.map { $0["kind"] as? String }, ["model", "model", "generator", "checkpoint", "checkpoint", "HDF5 file"]
                       + shards.map { _ in "sample shard" })

        let teacher = try summary(entries[0])
        XCTAssertEqual(teacher["architecture"] as? String, "lenet5")
        // LeNet-5 on 3 x 32 x 32: conv 3->6 (5x5), 6->16 (5x5), 16->120 (5x5), 120->84, 84->10.
        XCTAssertEqual(teacher["parameters"] as? Int, (6 * 3 * 25 + 6) + (16 * 6 * 25 + 16) + (120 * 16 * 25 + 120) + (84 * 120 + 84) + (10 * 84 + 10))
        XCTAssertNotNil((teacher["provenance"] as? [String: Any])?["eval_top1"])
        XCTAssertEqual((try summary(entries[2]))["embeddings"] as? String, "all")

        let distillation = try summary(entries[3])
        XCTAssertEqual(distillation["method"] as? String, "cpsc")
        XCTAssertEqual(distillation["epoch"] as? Int, 1)
        XCTAssertEqual(distillation["world_size"] as? Int, 1)
        XCTAssertNotNil(distillation["last_top1"] as? Double)
        let changed = try XCTUnwrap(distillation["settings_not_default"] as? [String: Any])
        XCTAssertEqual(changed["batch"] as? String, "32 (default: 512)")
        XCTAssertEqual(changed["epochs"] as? String, "1 (default: 600)")
        XCTAssertNil(changed["kd-temperature"], "a setting at its default is not listed")
        XCTAssertEqual((try summary(entries[4]))["run"] as? String, "supervised")

        // Another writer's file: its tree, with groups, chunks, filters and attributes.
        XCTAssertEqual(entries[5]["checksum_block"] as? String, "none (a file of another writer: its datasets' own checksums only)")
        let tree = try XCTUnwrap(entries[5]["tree"] as? [[String: Any]])
        XCTAssertEqual(tree.map { $0["path"] as? String }, ["/", "/raw", "/raw/day1", "/raw/day1/volts"])
        XCTAssertEqual((tree[0]["attributes"] as? [String: Any])?["title"] as? String, "measurements")
        let volts = tree[3]
        XCTAssertEqual(volts["type"] as? String, "int16")
        XCTAssertEqual(volts["shape"] as? [Int], [20, 30])
        XCTAssertEqual(volts["chunks"] as? [Int], [5, 30])
        XCTAssertEqual(volts["filters"] as? [String], ["deflate(6)"])
        XCTAssertEqual((volts["attributes"] as? [String: Any])?["scale"] as? [Double], [0.5, 2.0])

        // The shards, summarised as one set: 8 iterations of 32 samples.
        let sets = try XCTUnwrap(report["sample_sets"] as? [[String: Any]])
        XCTAssertEqual(sets.count, 1)
        XCTAssertEqual(sets[0]["samples"] as? Int, 8 * 32)
        XCTAssertEqual(sets[0]["iterations_kept"] as? Int, 8)
        XCTAssertEqual(sets[0]["iterations_covered"] as? String, "0 to 7")
        let perClass = try XCTUnwrap(sets[0]["per_class"] as? [[String: Any]])
        XCTAssertEqual(perClass.count, 10)
        XCTAssertEqual(perClass.compactMap { $0["samples"] as? Int }.reduce(0, +), 8 * 32)
        for entry in perClass where (entry["samples"] as? Int ?? 0) > 0 {
            let confidence = try XCTUnwrap(entry["mean_teacher_confidence"] as? Double)
            XCTAssertTrue(confidence > 0 && confidence <= 1, "\(entry)")
        }

        // The text form says the same, trees included.
        let text = try DFKDCommand.run(["inspect"] + paths)
        XCTAssertEqual(text.status, 0, text.output)
        for part in ["kind: model", "architecture: lenet5", "batch: 32 (default: 512)", "/raw/day1/volts  int16 [20, 30], chunks [5, 30], deflate(6)",
                     "@scale = [0.5, 2.0]", "sample set:", "iterations_kept: 8"] {
            XCTAssertTrue(text.output.contains(part), "'\(part)' is not in:\n\(text.output)")
        }
    }

    func testVerifyNamesTheDatasetOfAFlippedByte() throws {
        let directory = TestFiles.scratchDirectory()
        let shard = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: Self.run + "/samples").sorted().first)
        let intact = directory + "/intact.h5", damaged = directory + "/damaged.h5"
        try FileManager.default.copyItem(atPath: Self.run + "/samples/" + shard, toPath: intact)
        try FileManager.default.copyItem(atPath: intact, toPath: damaged)
        let verified = try inspect(["--verify", intact])
        XCTAssertEqual(verified.status, 0, verified.output)
        XCTAssertEqual(try files(verified.report)[0]["verified"] as? Bool, true)

        // One bit in the middle of the second compressed chunk of /images (HDF5 addresses
        // count from the end of the 512-byte checksum block).
        try python("""
            import sys, h5py
            with h5py.File(sys.argv[1], "r") as f:
                chunk = f["images"].id.get_chunk_info(1)
                rows = f["images"].chunks[0]
            position = 512 + chunk.byte_offset + chunk.size // 2
            with open(sys.argv[1], "r+b") as out:
                out.seek(position); byte = out.read(1); out.seek(position); out.write(bytes([byte[0] ^ 0x08]))
            """, [damaged])
        let rows = try HDF5Group.open(intact).objects().compactMap { object -> Int? in
            if object.path == "/images", case .dataset(let layout) = object.kind { layout.chunk?.first } else { nil }
        }.first!
        let found = try inspect(["--verify", damaged])
        XCTAssertEqual(found.status, 1, found.output)
        let entry = try files(found.report)[0]
        XCTAssertEqual(entry["verified"] as? Bool, false)
        let problems = try XCTUnwrap(entry["damaged"] as? [[String: Any]], "\(entry)")
        XCTAssertEqual(problems.map { $0["dataset"] as? String }, ["/images"])
        XCTAssertTrue((problems[0]["problem"] as? String ?? "").contains("rows \(rows)..<\(2 * rows)"), "\(problems)")

        // Training on it names the file and the dataset.
        let training = try Runs.run(Runs.distill(["--out", directory + "/reuse", "--from-samples", damaged], epochs: 1))
        XCTAssertEqual(training.status, 1, training.output)
        XCTAssertTrue(training.output.contains(damaged) && training.output.contains("dataset /images"), training.output)

        // A checkpoint's contiguous dataset is checked against its crc32 attribute.
        let checkpoint = directory + "/checkpoint.h5"
        try FileManager.default.copyItem(atPath: try XCTUnwrap(CheckpointSeries(directory: Self.run + "/checkpoints").files().last), toPath: checkpoint)
        try python("""
            import sys, h5py
            with h5py.File(sys.argv[1], "r") as f:
                position = 512 + f["student/conv3.weight"].id.get_offset() + 100
            with open(sys.argv[1], "r+b") as out:
                out.seek(position); byte = out.read(1); out.seek(position); out.write(bytes([byte[0] ^ 0x01]))
            """, [checkpoint])
        let crc = try inspect(["--verify", checkpoint])
        XCTAssertEqual(crc.status, 1, crc.output)
        let crcProblems = try XCTUnwrap(try files(crc.report)[0]["damaged"] as? [[String: Any]])
        XCTAssertEqual(crcProblems.map { $0["dataset"] as? String }, ["/student/conv3.weight"])
        XCTAssertTrue((crcProblems[0]["problem"] as? String ?? "").contains("crc32 attribute"), "\(crcProblems)")

        // Without --verify a damaged file is still an error naming it.
        let plain = try DFKDCommand.run(["inspect", damaged])
        XCTAssertEqual(plain.status, 1, plain.output)
        XCTAssertTrue(plain.output.contains("is damaged"), plain.output)
    }

    /// A shard whose datasets declare 10^8 rows (extended with h5py, its checksum block made to
    /// fit) while it stores a few hundred: `inspect`, `inspect --verify` and `export-samples`
    /// name the rows it does not store as damage, within 2 GB of address space (they would
    /// allocate for the declared rows: 10 GB and more), and return at once.
    func testAShardDeclaringRowsItDoesNotStoreIsRefusedWithoutAllocatingForThem() throws {
        let directory = TestFiles.scratchDirectory()
        let shard = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: Self.run + "/samples").sorted().first)
        let forged = directory + "/forged.h5"
        try FileManager.default.copyItem(atPath: Self.run + "/samples/" + shard, toPath: forged)
        try python("""
            import sys, h5py
            with h5py.File(sys.argv[1], "r+") as f:
                for name in f: f[name].resize(10**8, axis=0)
            """, [forged])
        try ChecksumBlockForgery.reseal(forged)
        for arguments in [["inspect", forged], ["inspect", "--verify", forged], ["export-samples", forged, "--png", directory + "/png"]] {
            let started = Date()
            let command = "ulimit -v 2000000; exec \"$0\" \"$@\""
            let result = try Subprocess.run("/bin/bash", ["-c", command, DFKDCommand.binary] + arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.output)")
            XCTAssertTrue(result.output.contains("/images") && result.output.contains("declares shape [100000000, 3, 32, 32] in ")
                          && result.output.contains("; the file stores "), "\(arguments): \(result.output)")
            XCTAssertLessThan(Date().timeIntervalSince(started), 60, "\(arguments)")
        }
    }

    func testExportSamplesWritesAGridPerClass() throws {
        let directory = TestFiles.scratchDirectory() + "/png"
        let result = try DFKDCommand.run(["export-samples", Self.run + "/samples/*.h5", "--png", directory, "--per-class", "12"])
        XCTAssertEqual(result.status, 0, result.output)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertEqual(names, (0..<10).map { String(format: "class-%04d.png", $0) })
        // 12 samples: two rows of up to eight 32 x 32 images with 2-pixel gaps.
        let grid = try PNGFile.read(directory + "/" + names[0], channels: 3)
        XCTAssertEqual(grid.width, 8 * 34 + 2)
        XCTAssertEqual(grid.height, 2 * 34 + 2)
        XCTAssertTrue(grid.pixels.contains { $0 != 255 }, "images are drawn")
        let none = try DFKDCommand.run(["export-samples", directory + "/none-*.h5", "--png", directory])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.output.contains("no file matches"), none.output)
    }
}
