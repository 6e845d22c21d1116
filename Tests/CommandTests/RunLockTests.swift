import Foundation
import TestSupport
import XCTest

/// One run at a time on a directory: a second run or a resume on a live one is refused,
/// naming the holder; a killed holder's lock is taken over.
final class RunLockTests: XCTestCase {
    /// A long run in `directory`, once it trains.
    private func startRun(in directory: String) throws -> RunningProcess {
        let run = try RunningProcess(DFKDCommand.binary, ShortDistillation.distill(["--out", directory], epochs: 10_000))
        XCTAssertTrue(run.wait(for: "distill: cpsc"), run.output)
        return run
    }

    func testASecondRunOrAResumeOnALiveDirectoryIsRefused() throws {
        let directory = TestFiles.scratchDirectory() + "/run"
        let first = try startRun(in: directory)
        for options in [["--out", directory], ["--resume", directory]] {
            let second = try DFKDCommand.run(ShortDistillation.distill(options, epochs: 2))
            XCTAssertEqual(second.status, 1, second.output)
            XCTAssertTrue(second.output.contains("\(directory)/run.lock: held by another run")
                          && second.output.contains("process \(first.pid) on host "), second.output)
        }
        XCTAssertTrue(first.isRunning, "the live run goes on: \(first.output)")
        first.signal(SIGTERM)
        XCTAssertEqual(first.finish().status, 75)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/run.lock"), "a run that ends gives the directory up")
        let resumed = try DFKDCommand.run(ShortDistillation.distill(["--resume", directory], epochs: 2))
        XCTAssertEqual(resumed.status, 0, resumed.output)
    }

    func testTheLockOfAKilledRunIsTakenOver() throws {
        let directory = TestFiles.scratchDirectory() + "/run"
        let killed = try startRun(in: directory)
        killed.signal(SIGKILL)
        XCTAssertEqual(killed.finish().status, 128 + SIGKILL)
        let lock = try String(contentsOfFile: directory + "/run.lock", encoding: .utf8)
        XCTAssertTrue(lock.contains("pid: \(killed.pid)\n"), lock)
        let resumed = try DFKDCommand.run(ShortDistillation.distill(["--resume", directory], epochs: 2))
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("note: \(directory)/run.lock: its holder") && resumed.output.contains("has ended; this run takes"),
                      resumed.output)
    }

    func testTwoTeacherTrainingsOnOneModelFile() throws {
        let model = TestFiles.scratchDirectory() + "/teacher.h5"
        let arguments = ["train-teacher", "--dataset", "builtin", "--split", "2000:300", "--model", "lenet5", "--batch", "16", "--out", model]
        let first = try RunningProcess(DFKDCommand.binary, arguments + ["--epochs", "1000"])
        XCTAssertTrue(first.wait(for: "train:"), first.output)
        let second = try DFKDCommand.run(arguments + ["--epochs", "1"])
        XCTAssertEqual(second.status, 1, second.output)
        XCTAssertTrue(second.output.contains("teacher.lock: held by another run"), second.output)
        first.signal(SIGKILL)
        _ = first.finish()
    }
}
