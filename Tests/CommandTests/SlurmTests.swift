import Foundation
import Storage
import TestSupport
import XCTest

/// cluster/dfkd.sbatch on a real Slurm (one node here): runs complete through srun and
/// through mpirun, and a run signalled as Slurm signals it before its time limit stops with
/// a checkpoint, requeues itself and ends with the weights of an uninterrupted run.
final class SlurmTests: XCTestCase {
    private typealias Runs = ShortDistillation

    /// A 2-rank job of the batch script on the short distillation, writing to `directory`.
    private func submit(_ slurm: LocalSlurm, in directory: String, epochs: Int, options: [String] = []) throws -> String {
        try slurm.submit(["-n", "2", "--output", directory + "/slurm-%j.out", "--chdir", directory, LocalSlurm.batchScript,
                          "--binary", DFKDCommand.binary, "--run-dir", directory + "/run"] + options + Runs.distill([], epochs: epochs))
    }

    /// The same job started through `launcher` (srun or mpirun), in a new directory of its own.
    private func submit(_ slurm: LocalSlurm, through launcher: String, epochs: Int) throws -> (directory: String, job: String) {
        let directory = TestFiles.scratchDirectory() + "/" + launcher
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (directory, try submit(slurm, in: directory, epochs: epochs, options: ["--launcher", launcher]))
    }

    private func output(of job: String, in directory: String) -> String {
        (try? String(contentsOfFile: directory + "/slurm-\(job).out", encoding: .utf8)) ?? ""
    }

    func testTwoRankRunsCompleteThroughSrunAndMpirun() throws {
        let slurm = try LocalSlurm.start(for: self)
        for launcher in ["srun", "mpirun"] {
            let (directory, job) = try submit(slurm, through: launcher, epochs: 2)
            let end = try slurm.waitForEnd(of: job)
            let log = output(of: job, in: directory)
            XCTAssertEqual(end["JobState"], "COMPLETED", log)
            XCTAssertEqual(end["ExitCode"], "0:0", log)
            XCTAssertTrue(log.contains("over 2 ranks") && log.contains("2 rank(s) on"), log)
            for name in ["student.h5", "generator.h5", "metrics.jsonl"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/run/" + name), "\(launcher): no \(name)")
            }
        }
    }

    /// A rank killed by the system (SIGKILL) in a job through srun and through mpirun: the job
    /// log names the rank, its node and the signal, and the job fails without a requeue.
    func testARankKilledInAJobIsNamedWithItsNodeAndSignal() throws {
        let slurm = try LocalSlurm.start(for: self)
        for launcher in ["srun", "mpirun"] {
            let (directory, job) = try submit(slurm, through: launcher, epochs: 10_000)
            let deadline = Date().addingTimeInterval(60)
            while !output(of: job, in: directory).contains("distill: "), Date() < deadline { usleep(100_000) }
            kill(try XCTUnwrap(RankProcess.find(withArgument: directory + "/run", rank: 1), "\(launcher): rank 1 not found"), SIGKILL)
            let end = try slurm.waitForEnd(of: job)
            let log = output(of: job, in: directory)
            XCTAssertEqual(end["JobState"], "FAILED", log)
            XCTAssertEqual(end["Restarts"], "0", log)
            let named = launcher == "srun" ? log.contains("task 1: Killed") : log.contains("process rank 1 with PID") && log.contains("signal 9")
            XCTAssertTrue(named, "\(launcher): the rank is not named:\n\(log)")
            XCTAssertTrue(log.contains("dfkd.sbatch: the run ended with status 137: a rank was ended by SIGKILL (signal 9)"), "\(launcher):\n\(log)")
        }
    }

    func testAStoppedRunRequeuesItselfAndEndsAsAnUninterruptedOne() throws {
        let slurm = try LocalSlurm.start(for: self)
        let directory = TestFiles.scratchDirectory()
        let reference = try Runs.run(Runs.distill(["--out", directory + "/reference"], epochs: 6), ranks: 2)
        XCTAssertEqual(reference.status, 0, reference.output)

        let job = try submit(slurm, in: directory, epochs: 6)
        // Once it is training, the signal Slurm sends before the time limit (--signal=B:USR1).
        let deadline = Date().addingTimeInterval(60)
        while !output(of: job, in: directory).contains("distill: "), Date() < deadline { usleep(100_000) }
        let signal = try slurm.run("scancel", ["--signal=USR1", "--batch", job])
        XCTAssertEqual(signal.status, 0, signal.output)
        try slurm.wait(for: job, until: { $0["JobState"] == "PENDING" && $0["Restarts"] == "1" })
        try slurm.startRequeuedJobNow(job)
        let end = try slurm.waitForEnd(of: job)
        let log = output(of: job, in: directory)
        XCTAssertEqual(end["JobState"], "COMPLETED", log)
        XCTAssertEqual(end["Restarts"], "1", log)
        XCTAssertEqual(end["Requeue"], "0", "requeueable only for its own requeue")
        for part in ["asked to stop", "requeueing job \(job) (1 of at most 10)", "start 2", "resuming"] {
            XCTAssertTrue(log.contains(part), "'\(part)' is not in:\n\(log)")
        }
        let (expected, found) = (try Runs.result(of: directory + "/reference"), try Runs.result(of: directory + "/run"))
        XCTAssertEqual(found.metrics, expected.metrics)
        XCTAssertEqual(found.state, expected.state, "the weights of the uninterrupted run, bit for bit")
    }

    func testRequeuesAreBounded() throws {
        let slurm = try LocalSlurm.start(for: self)
        let directory = TestFiles.scratchDirectory()
        let job = try submit(slurm, in: directory, epochs: 6, options: ["--max-requeues", "0"])
        let deadline = Date().addingTimeInterval(60)
        while !output(of: job, in: directory).contains("distill: "), Date() < deadline { usleep(100_000) }
        XCTAssertEqual(try slurm.run("scancel", ["--signal=USR1", "--batch", job]).status, 0)
        let end = try slurm.waitForEnd(of: job)
        let log = output(of: job, in: directory)
        XCTAssertEqual(end["JobState"], "FAILED", log)
        XCTAssertEqual(end["ExitCode"], "75:0", log)
        XCTAssertEqual(end["Restarts"], "0")
        XCTAssertTrue(log.contains("the most --max-requeues allows"), log)
        XCTAssertFalse(CheckpointSeries(directory: directory + "/run/checkpoints").files().isEmpty, "the stop left a checkpoint")
    }

    /// Three nodes on namespace hosts: one run spans them all, and a host cut off ends the
    /// job as NODE_FAIL, not requeued.
    func testAThreeNodeRunEndsAsNodeFailWhenAHostIsCutOff() throws {
        let prefix = "dfkdsl"
        let slurm = try LocalSlurm.start(for: self, nodes: 3, prefix: prefix)
        let directory = TestFiles.scratchDirectory()
        addTeardownBlock { _ = try? Subprocess.run("/usr/bin/pkill", ["-f", directory]) }
        let job = try slurm.submit(["-N", "3", "-n", "3", "--output", directory + "/slurm-%j.out", "--chdir", directory, LocalSlurm.batchScript,
                                    "--binary", DFKDCommand.binary, "--run-dir", directory + "/run"] + Runs.distill([], epochs: 100))
        let deadline = Date().addingTimeInterval(60)
        while !output(of: job, in: directory).contains("ranks on hosts: "), Date() < deadline { usleep(100_000) }
        let started = output(of: job, in: directory)
        XCTAssertTrue(started.contains("3 rank(s) on \(prefix)[1-3]") && started.contains("over 3 ranks"), started)
        // Each rank names the host it runs on: one rank per node.
        for rank in 0..<3 { XCTAssertTrue(started.contains("\(rank) \(prefix)\(rank + 1) (cpus "), started) }
        let cut = try Subprocess.run("/bin/bash", [TestFiles.repositoryRoot + "/cluster/netns-hosts.sh", "cut", prefix, "3"])
        XCTAssertEqual(cut.status, 0, cut.output)
        let end = try slurm.waitForEnd(of: job, atMost: 90)
        XCTAssertEqual(end["JobState"], "NODE_FAIL", output(of: job, in: directory))
        XCTAssertEqual(end["Restarts"], "0", "not requeued")
        XCTAssertEqual(end["Requeue"], "0")
    }

    func testASweepRunsAsAJobArrayAndItsResubmissionRerunsOnlyTheFailedRun() throws {
        let slurm = try LocalSlurm.start(for: self)
        let (sweep, late) = try SweepFixture.withALateTeacher()
        func submit() throws -> (output: String, summary: String) {
            let submitted = try submitSweep(sweep, to: slurm, options: ["--max-parallel", "2"])
            return (submitted.output, submitted.summary)
        }
        let first = try submit()
        XCTAssertTrue(first.output.contains("(4 task(s), at most 2 at once)"), first.output)
        let twice = try slurm.run(DFKDCommand.binary, sweep.arguments(["--slurm"]))
        XCTAssertEqual(twice.status, 1, "a second array beside the first would run the runs twice: \(twice.output)")
        XCTAssertTrue(twice.output.contains("of this sweep still has tasks queued or running"), twice.output)

        // The summary job runs after every task, however each ended.
        XCTAssertEqual(try slurm.waitForEnd(of: first.summary, atMost: 180)["JobState"], "COMPLETED")
        XCTAssertEqual(try sweep.summary().map { $0["state"] }, ["finished", "finished", "finished", "failed"], sweep.log(of: "late"))
        XCTAssertTrue(sweep.status(of: "late").hasPrefix("failed "), sweep.status(of: "late"))

        try FileManager.default.copyItem(atPath: ShortDistillation.teacher, toPath: late + "/teacher.h5")
        let second = try submit()
        XCTAssertTrue(second.output.contains("3 finished, 1 to run") && second.output.contains("(1 task(s)"), second.output)
        XCTAssertEqual(try slurm.waitForEnd(of: second.summary, atMost: 180)["JobState"], "COMPLETED")
        let rows = try sweep.summary()
        XCTAssertEqual(rows.map { $0["run"] }, ["a", "b", "c", "late"])
        XCTAssertEqual(rows.map { $0["state"] }, ["finished", "finished", "finished", "finished"], sweep.log(of: "late"))
        XCTAssertEqual(["a", "b", "c", "late"].map(sweep.starts), [1, 1, 1, 1], "only the failed run ran again")
        XCTAssertTrue(FileManager.default.fileExists(atPath: sweep.out + "/report.html"))
    }

    func testAnArrayTaskStoppedBeforeItsTimeLimitRequeuesAloneAndResumes() throws {
        let slurm = try LocalSlurm.start(for: self)
        let sweep = try SweepFixture(grid: "  seed: [1, 2]", epochs: 20)
        let (_, array, summary) = try submitSweep(sweep, to: slurm)
        let deadline = Date().addingTimeInterval(60)
        while !sweep.log(of: "seed-1").contains("distill: cpsc"), Date() < deadline { usleep(100_000) }
        // What Slurm sends task 0 alone before its time limit.
        XCTAssertEqual(try slurm.run("scancel", ["--signal=USR1", "--batch", "\(array)_0"]).status, 0)
        let requeued = try slurm.wait(for: "\(array)_0", until: { $0["JobState"] == "PENDING" && $0["Restarts"] == "1" })
        try slurm.startRequeuedJobNow("\(array)_0", steps: try XCTUnwrap(requeued["JobId"]))
        XCTAssertEqual(try slurm.waitForEnd(of: summary, atMost: 240)["JobState"], "COMPLETED", sweep.log(of: "seed-1"))
        let (first, second) = (try slurm.fields(of: "\(array)_0"), try slurm.fields(of: "\(array)_1"))
        XCTAssertEqual([first["JobState"], first["Restarts"]], ["COMPLETED", "1"], sweep.log(of: "seed-1"))
        XCTAssertEqual([second["JobState"], second["Restarts"]], ["COMPLETED", "0"], "the other task is not requeued with it")
        let log = sweep.log(of: "seed-1")
        for part in ["requeueing job \(array)_0 (1 of at most 10)", "start 2", "resuming \(sweep.out)/runs/seed-1/checkpoints/"] {
            XCTAssertTrue(log.contains(part), "'\(part)' is not in:\n\(log)")
        }
        XCTAssertEqual(sweep.starts(of: "seed-2"), 1)
        XCTAssertEqual(try sweep.summary().map { $0["state"]! + " " + $0["epochs"]! }, ["finished 20/20", "finished 20/20"])
    }

    /// Submits `sweep` to `slurm`; the output, the array job and the summary job.
    private func submitSweep(_ sweep: SweepFixture, to slurm: LocalSlurm, options: [String] = []) throws -> (output: String, array: String, summary: String) {
        let result = try slurm.run(DFKDCommand.binary, sweep.arguments(["--slurm"] + options))
        XCTAssertEqual(result.status, 0, result.output)
        let words = result.output.split(whereSeparator: \.isWhitespace)
        let array = try XCTUnwrap(words.firstIndex(of: "array").map { String(words[$0 + 1]) }, result.output)
        let summary = try XCTUnwrap(words.firstIndex(of: "summary").map { String(words[$0 + 2]) }, result.output)
        return (result.output, array, summary)
    }
}
