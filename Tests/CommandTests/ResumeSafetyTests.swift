import Foundation
import Storage
import TestSupport
import Training
import XCTest

/// `distill --resume DIR` resumes or refuses, never silently starts over: a run killed before
/// its first checkpoint continues from its record alone, output options carry over, a
/// directory holding no run is refused with what it holds, damaged metrics lines are named.
final class ResumeSafetyTests: XCTestCase {
    /// Grids every epoch and samples of every iteration: outputs a resume must keep making.
    private static let outputOptions = ["--save-samples", "1", "--grid-every", "1"]

    /// A run SIGKILLed as soon as its record appears (before its first checkpoint) and then
    /// continued by `distill --resume DIR` with no other option ends bit for bit as the
    /// uninterrupted run, with its sample shards and grids.
    func testARunKilledBeforeItsFirstCheckpointContinuesFromItsRecordAlone() throws {
        let directory = TestFiles.scratchDirectory()
        let reference = directory + "/reference", killed = directory + "/killed"
        let straight = try ShortDistillation.run(ShortDistillation.distill(["--out", reference] + Self.outputOptions, epochs: 2))
        XCTAssertEqual(straight.status, 0, straight.output)

        let (executable, arguments) = ShortDistillation.command(ShortDistillation.distill(["--out", killed] + Self.outputOptions, epochs: 2), ranks: nil)
        let process = try RunningProcess(executable, arguments)
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: killed + "/run.json") && process.isRunning && Date() < deadline { usleep(1000) }
        process.signal(SIGKILL)
        let ended = process.finish()
        XCTAssertEqual(ended.status, 128 + SIGKILL, ended.output)
        XCTAssertEqual(CheckpointSeries(directory: killed + "/checkpoints").files(), [], "the kill came after the first checkpoint")

        let resumed = try ShortDistillation.run(["distill", "--resume", killed])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("restarting the run recorded in \(killed)/run.json"), resumed.output)
        try CheckpointResumeTests.assertSameRun(killed, reference)
        XCTAssertEqual(try ShortDistillation.keptSamples(of: killed), try ShortDistillation.keptSamples(of: reference))
        XCTAssertTrue(FileManager.default.fileExists(atPath: killed + "/grids/epoch-0001.png"), "--grid-every 1 did not carry over")
    }

    /// A resume given only more epochs keeps the run's samples and grids going; one given
    /// `--save-samples 0` stops keeping samples, and the record says so for the next.
    func testOutputOptionsCarryOverAResumeUnlessGivenAgain() throws {
        let run = TestFiles.scratchDirectory() + "/run"
        let first = try ShortDistillation.run(ShortDistillation.distill(["--out", run] + Self.outputOptions, epochs: 1))
        XCTAssertEqual(first.status, 0, first.output)
        let perEpoch = 8 * 32  // iterations x batch
        XCTAssertEqual(try ShortDistillation.keptSamples(of: run).count, perEpoch)

        let second = try ShortDistillation.run(["distill", "--resume", run, "--epochs", "2"])
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertEqual(try ShortDistillation.keptSamples(of: run).count, 2 * perEpoch, "the resume stopped keeping samples")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/grids/epoch-0002.png"), second.output)

        let third = try ShortDistillation.run(["distill", "--resume", run, "--epochs", "3", "--save-samples", "0"])
        XCTAssertEqual(third.status, 0, third.output)
        XCTAssertEqual(try ShortDistillation.keptSamples(of: run).count, 2 * perEpoch)
        XCTAssertEqual(try RunRecord.read(run + "/run.json").outputs.saveSamples, 0)
        XCTAssertEqual(try RunRecord.read(run + "/run.json").outputs.gridEvery, 1)
    }

    /// Directories that hold no run are refused, naming what they hold and leaving every file
    /// as it was: a run's checkpoints directory (with the run to resume named instead), a
    /// folder of other files, outputs whose only checkpoint is a killed write's temporary
    /// file. A damaged record is refused naming its field.
    func testADirectoryHoldingNoRunIsRefusedWithWhatItHolds() throws {
        let directory = TestFiles.scratchDirectory()
        let run = directory + "/run"
        let finished = try ShortDistillation.run(ShortDistillation.distill(["--out", run], epochs: 1))
        XCTAssertEqual(finished.status, 0, finished.output)

        let nested = try ShortDistillation.run(ShortDistillation.distill(["--resume", run + "/checkpoints"], epochs: 1))
        XCTAssertNotEqual(nested.status, 0, nested.output)
        XCTAssertTrue(nested.output.contains("these are a run's checkpoints: --resume \(run) continues"), nested.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints").filter { !$0.hasPrefix("checkpoint-") }, [])

        let empty = try ShortDistillation.run(["distill", "--resume", directory + "/empty"])
        XCTAssertEqual(empty.status, 1, empty.output)
        XCTAssertTrue(empty.output.contains("--method is required (one of"), empty.output)
        XCTAssertTrue(empty.output.contains("\(directory)/empty holds no run to continue, so a new run starts there"), empty.output)

        let other = directory + "/other"
        try FileManager.default.createDirectory(atPath: other + "/photos", withIntermediateDirectories: true)
        try "keep me\n".write(toFile: other + "/notes.txt", atomically: true, encoding: .utf8)
        let refused = try ShortDistillation.run(ShortDistillation.distill(["--resume", other], epochs: 1))
        XCTAssertNotEqual(refused.status, 0, refused.output)
        XCTAssertTrue(refused.output.contains("holds no distillation run to resume") && refused.output.contains("notes.txt, photos/"), refused.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: other).sorted(), ["notes.txt", "photos"])

        // What a kill during the first checkpoint's write leaves of a run of a version without records.
        let leftover = directory + "/leftover"
        try FileManager.default.createDirectory(atPath: leftover + "/checkpoints", withIntermediateDirectories: true)
        for name in ["metrics.jsonl", "student.h5"] { try FileManager.default.copyItem(atPath: run + "/" + name, toPath: leftover + "/" + name) }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: leftover + "/checkpoints/.checkpoint-e00001-i000000.h5.tmp-99"))
        let metrics = try String(contentsOfFile: leftover + "/metrics.jsonl", encoding: .utf8)
        let lost = try ShortDistillation.run(ShortDistillation.distill(["--resume", leftover], epochs: 1))
        XCTAssertNotEqual(lost.status, 0, lost.output)
        XCTAssertTrue(lost.output.contains("checkpoints/, metrics.jsonl, student.h5"), lost.output)
        XCTAssertEqual(try String(contentsOfFile: leftover + "/metrics.jsonl", encoding: .utf8), metrics)
        XCTAssertTrue(FileManager.default.fileExists(atPath: leftover + "/student.h5"))

        var record = try String(contentsOfFile: run + "/run.json", encoding: .utf8)
        record = record.replacingOccurrences(of: "\"teacher_crc32\" : ", with: "\"teacher_crc32\" : \"x\", \"was\" : ")
        try record.write(toFile: run + "/run.json", atomically: true, encoding: .utf8)
        let damaged = try ShortDistillation.run(["distill", "--resume", run])
        XCTAssertNotEqual(damaged.status, 0, damaged.output)
        XCTAssertTrue(damaged.output.contains("\(run)/run.json: a damaged run record: field \"teacher_crc32\""), damaged.output)
    }

    /// A new run over a finished one that fails before its first step (a misspelt teacher)
    /// leaves no record of the old run to be restarted by a later `--resume`: the old record
    /// goes aside with the old checkpoints.
    func testANewRunThatFailsLeavesNoOldRecordToRestart() throws {
        let directory = TestFiles.scratchDirectory()
        let run = directory + "/run"
        let finished = try ShortDistillation.run(ShortDistillation.distill(["--out", run], epochs: 1))
        XCTAssertEqual(finished.status, 0, finished.output)
        var failing = ShortDistillation.distill(["--out", run], epochs: 1)
        failing[failing.firstIndex(of: ShortDistillation.teacher)!] = directory + "/misspelt.h5"
        let failed = try ShortDistillation.run(failing)
        XCTAssertEqual(failed.status, 1, failed.output)
        XCTAssertTrue(failed.output.contains("\(run)/run.json held a previous run's record, now in \(run)/run.json.before-"), failed.output)
        let resumed = try ShortDistillation.run(["distill", "--resume", run])
        XCTAssertNotEqual(resumed.status, 0, resumed.output)
        XCTAssertFalse(resumed.output.contains("restarting the run recorded"), resumed.output)
        XCTAssertTrue(resumed.output.contains("holds no distillation run to resume"), resumed.output)
    }

    /// A resume names the metrics lines it drops as damaged (here one cut short by hand),
    /// and keeps the others.
    func testDamagedMetricsLinesAreReported() throws {
        let run = TestFiles.scratchDirectory() + "/run"
        let first = try ShortDistillation.run(ShortDistillation.distill(["--out", run], epochs: 2))
        XCTAssertEqual(first.status, 0, first.output)
        var lines = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2)
        lines[0] = String(lines[0].prefix(20))
        try (lines.joined(separator: "\n") + "\n").write(toFile: run + "/metrics.jsonl", atomically: true, encoding: .utf8)
        let resumed = try ShortDistillation.run(["distill", "--resume", run, "--epochs", "3"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("\(run)/metrics.jsonl: dropped 1 damaged line(s) (line 1)"), resumed.output)
        let kept = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(kept.count, 2, "epochs 2 and 3")
    }
}
