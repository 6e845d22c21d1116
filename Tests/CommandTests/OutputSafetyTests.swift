import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// What a run leaves behind when it diverges, fails at its start, fills the disk or was
/// killed mid-write: nothing of an earlier run is lost, and the files of one epoch agree.
final class OutputSafetyTests: XCTestCase {
    private typealias Runs = ShortDistillation

    private func settingsFile(_ text: String) throws -> String {
        let path = TestFiles.scratchDirectory() + "/settings.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func epochsRecorded(in directory: String) throws -> (student: String?, generator: String?, metrics: Int) {
        let student = try ModelFile.readDescription(directory + "/student-last.h5").provenance["epochs"]
        let generator = try HDF5Group.open(directory + "/generator.h5").stringAttribute("provenance_epochs")
        let lines = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").count
        return (student, generator, lines)
    }

    /// An output directory that is empty or the file system's root is a usage error, before
    /// anything is written.
    func testTheRootOrAnEmptyPathIsRefusedAsOutputDirectory() throws {
        for (out, message) in [("", "the output directory is empty"), ("/", "/ is the file system's root"),
                               ("/tmp/..", "/tmp/.. is the file system's root")] {
            for options in [["--out", out], ["--resume", out]] {
                let run = try Runs.run(Runs.distill(options, epochs: 1))
                XCTAssertEqual(run.status, 64, "\(options): \(run.output)")
                XCTAssertTrue(run.output.contains(message), "\(options): \(run.output)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/metrics.jsonl"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/run.lock"))
    }

    /// A learning rate that makes the weights overflow stops the run at the step whose loss
    /// turns NaN, with status 3 and the step named; the previous run's outputs in the same
    /// directory (its metrics, its student) are untouched, since the new run never had an
    /// epoch to write.
    func testDivergenceStopsWithStatus3AndKeepsThePreviousOutputs() throws {
        let directory = TestFiles.scratchDirectory() + "/run"
        let first = try Runs.run(Runs.distill(["--out", directory], epochs: 1))
        XCTAssertEqual(first.status, 0, first.output)
        let metrics = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8)
        let student = try Data(contentsOf: URL(fileURLWithPath: directory + "/student.h5"))

        let diverging = try settingsFile("student-lr: 1e20\n")
        let run = try Runs.run(Runs.distill(["--out", directory, "--config", diverging]))
        XCTAssertEqual(run.status, 3, run.output)
        XCTAssertTrue(run.output.contains("diverged at epoch 1, iteration 1: the student step's"), run.output)
        XCTAssertTrue(run.output.contains("stopped before that step changed any weight"), run.output)
        XCTAssertEqual(try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8), metrics, "the metrics are kept")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory + "/student.h5")), student, "the student is kept")
        XCTAssertTrue(CheckpointSeries(directory: directory + "/checkpoints").files().isEmpty, "no checkpoint of the diverged run")

        // train-teacher stops alike.
        let teacher = try Subprocess.run(DFKDCommand.binary, ["train-teacher", "--dataset", "builtin", "--split", "1000:100", "--model", "lenet5",
                                                              "--epochs", "1", "--optimizer", "sgd", "--lr", "1e20",
                                                              "--out", directory + "/teacher.h5"])
        XCTAssertEqual(teacher.status, 3, teacher.output)
        XCTAssertTrue(teacher.output.contains("diverged at epoch 1, step"), teacher.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/teacher.h5"))
    }

    /// Temporary files that killed writes left (named after their process, no longer
    /// running) are removed when a run starts in the directory; other files are not.
    func testStaleTemporaryFilesAreRemovedAtStart() throws {
        let directory = TestFiles.scratchDirectory() + "/run"
        try FileManager.default.createDirectory(atPath: directory + "/grids", withIntermediateDirectories: true)
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = ended.processIdentifier
        let stale = ["/.student.h5.tmp-\(dead)", "/.generator.h5.tmp-\(dead)", "/.metrics.jsonl.tmp-\(dead)", "/grids/.epoch-0003.png.tmp-\(dead)"]
        let kept = ["/.notes.txt.tmp-\(dead)", "/.student.h5.tmp-\(getpid())"]
        for name in stale + kept { TestFiles.write([1, 2, 3], to: directory + name) }
        let run = try Runs.run(Runs.distill(["--out", directory], epochs: 1))
        XCTAssertEqual(run.status, 0, run.output)
        for name in stale { XCTAssertFalse(FileManager.default.fileExists(atPath: directory + name), "\(name) is removed") }
        for name in kept { XCTAssertTrue(FileManager.default.fileExists(atPath: directory + name), "\(name) is not this run's to remove") }
    }

    /// A disk that fills while an epoch's files are written fails the run with "no space
    /// left on device", and leaves the student, the generator and the metrics of one epoch
    /// (a small tmpfs as the disk).
    func testFullDiskLeavesTheFilesOfOneEpoch() throws {
        let sizes = TestFiles.scratchDirectory() + "/sizes"
        let probe = try Runs.run(Runs.distill(["--out", sizes, "--keep-checkpoints", "1"], epochs: 1))
        XCTAssertEqual(probe.status, 0, probe.output)
        func size(_ path: String) throws -> Int { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) }
        let models = try size(sizes + "/student.h5") + size(sizes + "/student-last.h5") + size(sizes + "/generator.h5")
        let checkpoint = try size(try XCTUnwrap(CheckpointSeries(directory: sizes + "/checkpoints").files().last))
        // Room for one epoch's files and checkpoint, and half of the next epoch's files.
        guard let disk = try TestFiles.mountTmpfs("size=\(models + models / 2 + checkpoint + 65536)") else { return }
        defer { _ = try? Subprocess.run("/bin/umount", [disk]) }

        let run = try Runs.run(Runs.distill(["--out", disk + "/run", "--keep-checkpoints", "1"], epochs: 3))
        XCTAssertEqual(run.status, 1, run.output)
        XCTAssertTrue(run.output.contains("no space left on device"), run.output)
        XCTAssertFalse(run.output.contains("Backtrace") || run.output.contains("Fatal error"), run.output)
        let recorded = try epochsRecorded(in: disk + "/run")
        XCTAssertEqual(recorded.student, recorded.generator, "student and generator of one epoch")
        XCTAssertEqual(recorded.student, "\(recorded.metrics)", "a metrics line for each epoch saved, and only those")
        let names = try FileManager.default.contentsOfDirectory(atPath: disk + "/run")
        XCTAssertFalse(names.contains { $0.contains(".tmp-") }, "no temporary file is left: \(names)")
    }

    /// A disk that fills while sample shards are written ends the run with "no space left on
    /// device"; the shards on disk are exactly those of the iterations its last checkpoint
    /// covers, and no temporary file is left.
    func testFullDiskWhileKeepingSamplesKeepsTheShardsOfTheLastCheckpoint() throws {
        let sizes = TestFiles.scratchDirectory() + "/sizes"
        let probe = try Runs.run(Runs.distill(["--out", sizes, "--keep-checkpoints", "1", "--save-samples", "1"], epochs: 1))
        XCTAssertEqual(probe.status, 0, probe.output)
        func size(_ path: String) throws -> Int { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) }
        let models = try size(sizes + "/student.h5") + size(sizes + "/student-last.h5") + size(sizes + "/generator.h5")
            + size(sizes + "/metrics.jsonl")
        let checkpoint = try size(try XCTUnwrap(CheckpointSeries(directory: sizes + "/checkpoints").files().last))
        let shard = try size(sizes + "/samples/samples-g000000000-g000000007-r0000.h5")
        // Room for the first epoch's files, checkpoint and shard, and half of the next shard.
        guard let disk = try TestFiles.mountTmpfs("size=\(models + checkpoint + shard + shard / 2 + 65536)") else { return }
        defer { _ = try? Subprocess.run("/bin/umount", [disk]) }

        let run = try Runs.run(Runs.distill(["--out", disk + "/run", "--keep-checkpoints", "1", "--save-samples", "1"], epochs: 3))
        XCTAssertEqual(run.status, 1, run.output)
        XCTAssertTrue(run.output.contains("no space left on device"), run.output)
        XCTAssertFalse(run.output.contains("Backtrace") || run.output.contains("Fatal error"), run.output)
        let last = try CheckpointFile.read(try XCTUnwrap(CheckpointSeries(directory: disk + "/run/checkpoints").files().last))
        let covered = try last.integer("epoch", in: "") * 8 + last.integer("iteration", in: "")
        XCTAssertGreaterThan(covered, 0)
        XCTAssertEqual(try Runs.keptSamples(of: disk + "/run").count, covered * 32, "the kept iterations up to the checkpoint, each once")
        let names = try FileManager.default.contentsOfDirectory(atPath: disk + "/run/samples")
        XCTAssertFalse(names.contains { $0.contains(".tmp-") }, "no temporary file is left: \(names)")
    }
}
