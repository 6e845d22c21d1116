import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// Damaged checkpoints, options that disagree with the run, a full disk, and other tools
/// reading checkpoints.
final class CheckpointFaultTests: XCTestCase {
    private typealias Runs = ShortDistillation

    /// A finished run of `epochs` epochs in a new directory, and its checkpoint files.
    private func finishedRun(epochs: Int = 2, options: [String] = []) throws -> (directory: String, checkpoints: [String]) {
        let directory = TestFiles.scratchDirectory() + "/run"
        let run = try Runs.run(Runs.distill(["--out", directory] + options, epochs: epochs))
        XCTAssertEqual(run.status, 0, run.output)
        return (directory, CheckpointSeries(directory: directory + "/checkpoints").files())
    }

    private func python(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run("/usr/bin/python3", ["-c", script] + arguments)
    }

    /// A truncated newest checkpoint is reported and set aside, and the run resumes from
    /// the one before, ending as the uninterrupted run.
    func testDamagedNewestCheckpointIsPassedOver() throws {
        let reference = TestFiles.scratchDirectory() + "/reference"
        XCTAssertEqual(try Runs.run(Runs.distill(["--out", reference])).status, 0)
        let (directory, files) = try finishedRun(options: ["--checkpoint-every", "4", "--keep-checkpoints", "3"])
        XCTAssertEqual(files.map { ($0 as NSString).lastPathComponent },
                       ["checkpoint-e00001-i000000.h5", "checkpoint-e00001-i000004.h5", "checkpoint-e00002-i000000.h5"])
        let newest = files[2]
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: newest)[.size] as? Int)
        XCTAssertEqual(truncate(newest, off_t(size / 2)), 0)

        let resumed = try Runs.run(Runs.distill(["--resume", directory]))
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("warning: passing over a damaged checkpoint: \(newest): "), resumed.output)
        XCTAssertTrue(resumed.output.contains("resuming \(files[1])"), resumed.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: newest + ".damaged"))
        let (found, expected) = (try Runs.result(of: directory), try Runs.result(of: reference))
        XCTAssertEqual(found.state, expected.state)
        XCTAssertEqual(found.metrics, expected.metrics)
    }

    /// Flipped bytes inside a stored dataset, a deleted dataset, an edited attribute, a
    /// truncated file: each is an error (status 1) naming the file and what is wrong. The
    /// file's checksum block catches each before the HDF5 library reads the file; the
    /// datasets' own CRC-32s and the manifest checksum, for readers of the datasets alone,
    /// are tested in StorageTests.
    func testDamagedCheckpointsAreRefusedWithTheirReason() throws {
        let (directory, files) = try finishedRun(options: ["--keep-checkpoints", "1"])
        let checkpoint = try XCTUnwrap(files.last)
        let weights = try CheckpointFile.read(checkpoint).state.floats("student/conv1.weight")
        let damages: [(String, String, (String) throws -> Void)] = [
            ("flipped bytes", "is damaged: the CRC-32 of its HDF5 data is", { path in
                var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                let pattern = weights.withUnsafeBytes { Array($0) }
                let at = try XCTUnwrap(Self.find(pattern, in: bytes), "the weights' bytes are not in the file")
                bytes[at + pattern.count / 2] ^= 0x5a
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            }),
            ("a deleted dataset", "is damaged: the CRC-32 of its HDF5 data is", { path in
                let deleted = try self.python("import h5py, sys\nf = h5py.File(sys.argv[1], 'r+')\ndel f['student/conv1.weight']\n", [path])
                XCTAssertEqual(deleted.status, 0, deleted.output)
            }),
            ("an edited attribute", "is damaged: the CRC-32 of its HDF5 data is", { path in
                let edited = try self.python("import h5py, sys\nf = h5py.File(sys.argv[1], 'r+')\nf.attrs['epoch'] = 1\n", [path])
                XCTAssertEqual(edited.status, 0, edited.output)
            }),
            ("truncation", "holds 3584 bytes of HDF5 data, its checksum block records", { path in
                XCTAssertEqual(truncate(path, 4096), 0)
            }),
        ]
        for (what, message, damage) in damages {
            let copy = TestFiles.scratchDirectory() + "/run"
            try FileManager.default.copyItem(atPath: directory, toPath: copy)
            let damaged = copy + "/checkpoints/" + (checkpoint as NSString).lastPathComponent
            try damage(damaged)
            let resumed = try Runs.run(Runs.distill(["--resume", copy], epochs: 3))
            XCTAssertEqual(resumed.status, 1, "\(what): \(resumed.output)")
            XCTAssertTrue(resumed.output.contains("\(copy)/checkpoints: holds no readable checkpoint"), "\(what): \(resumed.output)")
            XCTAssertTrue(resumed.output.contains("\(damaged): \(message)"), "\(what): \(resumed.output)")
            if what == "flipped bytes" {
                XCTAssertTrue(resumed.output.contains("damaged: dataset /student/conv1.weight: its values' CRC-32 is "), resumed.output)
            }
        }
    }

    /// Damage made to pass the checksum block (the block rewritten to fit): a changed value
    /// is caught by its dataset's CRC-32, an edited attribute and a dataset removed with its
    /// listing by the manifest checksum, a dataset removed alone by the listing; each error
    /// names the file and the dataset or attribute.
    func testDamageBehindAFittingChecksumBlockIsCaughtByTheDatasetsAndTheManifest() throws {
        let (_, files) = try finishedRun(epochs: 1, options: ["--keep-checkpoints", "1"])
        let checkpoint = try XCTUnwrap(files.last)
        let edits: [(String, String)] = [
            ("d = f['student/conv1.weight']; v = d[...]; v.flat[0] += 1; d[...] = v",
             "dataset /student/conv1.weight is damaged: its values' CRC-32 is "),
            ("f.attrs['epoch'] = 7", "root attribute 'checksum' is "),
            ("del f['student/conv1.weight']", "dataset /student/conv1.weight is missing"),
            ("del f['student/conv1.weight']; f.attrs['datasets'] = '\\n'.join(x for x in f.attrs['datasets'].split('\\n') if x != 'student/conv1.weight')",
             "a dataset or an attribute was removed, added or changed"),
        ]
        for (edit, message) in edits {
            let copy = TestFiles.scratchDirectory() + "/checkpoint.h5"
            try FileManager.default.copyItem(atPath: checkpoint, toPath: copy)
            let edited = try python("import h5py, sys\nf = h5py.File(sys.argv[1], 'r+')\n\(edit)\nf.close()\n", [copy])
            XCTAssertEqual(edited.status, 0, edited.output)
            try ChecksumBlockForgery.reseal(copy)
            XCTAssertThrowsError(try CheckpointFile.read(copy), edit) { error in
                XCTAssertTrue("\(error)".hasPrefix(copy + ": ") && "\(error)".contains(message), "\(edit): \(error)")
            }
        }
    }

    private static func find(_ pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard pattern.count <= bytes.count else { return nil }
        return (0...(bytes.count - pattern.count)).first { start in
            bytes[start] == pattern[0] && bytes[start..<(start + pattern.count)].elementsEqual(pattern)
        }
    }

    /// Options of a resume that disagree with the checkpoint's run are one error listing
    /// each with both values; nothing is written.
    func testResumeRefusesOptionsThatDisagreeWithTheCheckpoint() throws {
        let (directory, files) = try finishedRun()
        let otherTeacher = TestFiles.scratchDirectory() + "/other.h5"
        let train = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--split", Runs.split, "--model", "lenet5",
                                         "--epochs", "1", "--batch", "64", "--seed", "3", "--out", otherTeacher])
        XCTAssertEqual(train.status, 0, train.output)
        let cases: [([String], String)] = [
            (["--method", "dafl"], "method: the checkpoint has cpsc, given dafl"),
            (["--seed", "5"], "seed: the checkpoint has 0, given 5"),
            (["--iterations", "4"], "iterations: the checkpoint has 8, given 4"),
            (["--student", "lenet5"], "student: the checkpoint has lenet5-half, given lenet5"),
            (["--split", "1000:300"], "dataset: the checkpoint has builtin, split 2000:300, given builtin, split 1000:300"),
            (["--teacher", otherTeacher], "teacher: \(otherTeacher) has CRC-32 "),
        ]
        for (options, message) in cases {
            let resumed = try Runs.run(Runs.distill(["--resume", directory], epochs: 3) + options)
            XCTAssertEqual(resumed.status, 1, resumed.output)
            XCTAssertTrue(resumed.output.contains("\(files.last!): the options given disagree with the run this checkpoint continues"), resumed.output)
            XCTAssertTrue(resumed.output.contains(message), "\(options): \(resumed.output)")
        }
        XCTAssertEqual(CheckpointSeries(directory: directory + "/checkpoints").files(), files, "a refused resume wrote a checkpoint")
        // A new run in the directory sets the old run's checkpoints aside instead of mixing with them.
        let again = try Runs.run(Runs.distill(["--out", directory], epochs: 1))
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.output.contains("note: \(directory)/checkpoints held a previous run's checkpoints, now in \(directory)/checkpoints.before-"),
                      again.output)
        XCTAssertEqual(CheckpointSeries(directory: directory + "/checkpoints").files().map { ($0 as NSString).lastPathComponent },
                       ["checkpoint-e00001-i000000.h5"])
        // Given nothing but the directory, a resume takes every setting from the checkpoint.
        let alone = try DFKDCommand.run(["distill", "--resume", directory, "--epochs", "3"])
        XCTAssertEqual(alone.status, 0, alone.output)
        XCTAssertEqual(try Runs.result(of: directory).metrics.count, 3)
    }

    /// A disk that fills up fails the checkpoint's write with an error that says so, and
    /// the previous checkpoint stays whole (a small tmpfs as the disk).
    func testFullDiskFailsTheWriteAndKeepsThePreviousCheckpoint() throws {
        let (sizes, files) = try finishedRun(epochs: 1, options: ["--keep-checkpoints", "1"])
        func size(_ path: String) throws -> Int { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) }
        let outputs = try size(sizes + "/student.h5") + size(sizes + "/generator.h5") + 65536
        let checkpoint = try size(files[0])
        // Room for the outputs twice (their atomic rewrites) and one and a half checkpoints.
        guard let disk = try TestFiles.mountTmpfs("size=\(2 * outputs + 3 * checkpoint / 2)") else { return }
        defer { _ = try? Subprocess.run("/bin/umount", [disk]) }

        let run = try Runs.run(Runs.distill(["--out", disk + "/run", "--keep-checkpoints", "2"]))
        XCTAssertEqual(run.status, 1, run.output)
        XCTAssertTrue(run.output.contains("checkpoint-e00002-i000000.h5: not written: no space left on device (the disk holding \(disk)/run/checkpoints has"), run.output)
        let left = CheckpointSeries(directory: disk + "/run/checkpoints").files()
        XCTAssertEqual(left.map { ($0 as NSString).lastPathComponent }, ["checkpoint-e00001-i000000.h5"])
        XCTAssertNoThrow(try CheckpointFile.read(left[0]))
    }

    /// An output directory on a read-only file system is refused before the run trains,
    /// naming it and the reason.
    func testUnwritableOutputIsAClearError() throws {
        guard let disk = try TestFiles.mountTmpfs("size=1m,ro") else { return }
        defer { _ = try? Subprocess.run("/bin/umount", [disk]) }
        let run = try Runs.run(Runs.distill(["--out", disk + "/run"]))
        XCTAssertEqual(run.status, 1, run.output)
        XCTAssertTrue(run.output.contains("\(disk)/run: cannot be created as a directory: Read-only file system"), run.output)
    }

    /// h5py (Debian's python3-h5py) reads a checkpoint and checks its CRC-32s and manifest
    /// checksum as docs/FILE-FORMATS.md describes; h5dump reads it too.
    func testCheckpointsReadWithH5pyAndH5dump() throws {
        let (_, files) = try finishedRun()
        let checkpoint = try XCTUnwrap(files.last)
        let script = """
        import h5py, struct, sys, zlib
        import numpy as np
        f = h5py.File(sys.argv[1], 'r')
        assert f.attrs['format'] == 'dfkd-checkpoint', f.attrs['format']
        lines = []
        for path in f.attrs['datasets'].split('\\n'):
            values = f[path][()]
            crc = zlib.crc32(np.ascontiguousarray(values).astype(values.dtype.newbyteorder('<')).tobytes())
            assert crc == f[path].attrs['crc32'], path
            lines.append('%s %08x' % (path, crc))
        for name in sorted(set(f.attrs) - {'format', 'format_version', 'checksum', 'datasets'}):
            value = f.attrs[name]
            if isinstance(value, str):
                lines.append('%s=%08x' % (name, zlib.crc32(value.encode())))
            elif isinstance(value, (float, np.floating)):
                lines.append('%s=%016x' % (name, struct.unpack('<Q', struct.pack('<d', float(value)))[0]))
            else:
                lines.append('%s=%d' % (name, int(value)))
        assert zlib.crc32(''.join(line + '\\n' for line in lines).encode()) == f.attrs['checksum']
        print('epoch', f.attrs['epoch'], 'student', f['student/conv1.weight'].shape, 'steps', f['optimizers/student/step'][()])
        """
        let read = try python(script, [checkpoint])
        XCTAssertEqual(read.status, 0, read.output)
        XCTAssertTrue(read.output.contains("epoch 2 student (3, 3, 5, 5) steps 80"), read.output)
        let dump = try Subprocess.run("/usr/bin/h5dump", ["-H", checkpoint])
        XCTAssertEqual(dump.status, 0, dump.output)
        for name in ["GROUP \"student\"", "GROUP \"generator\"", "GROUP \"optimizers\"", "ATTRIBUTE \"settings\""] {
            XCTAssertTrue(dump.output.contains(name), name)
        }
    }
}
