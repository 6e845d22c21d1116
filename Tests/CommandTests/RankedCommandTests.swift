import Foundation
import Storage
import TestSupport
import XCTest

/// The commands as an MPI job of several ranks, started by launch/mpirun.sh: they divide the
/// work, rank 0 alone prints and writes, and the results equal one process's where the
/// arithmetic does not depend on the split.
final class RankedCommandTests: XCTestCase {
    private static let split = "1000:300"

    private func launch(ranks: Int, _ arguments: [String], timeout: Double? = nil) throws -> (status: Int32, output: String) {
        try Subprocess.run("/bin/bash", [TestFiles.repositoryRoot + "/launch/mpirun.sh", "--ranks", "\(ranks)", "--oversubscribe", "--",
                                         DFKDCommand.binary] + arguments, timeout: timeout)
    }

    private func occurrences(of text: String, in output: String) -> Int { output.components(separatedBy: text).count - 1 }

    func testTrainTeacherDistillAndEvaluateOverRanks() throws {
        let directory = TestFiles.scratchDirectory()
        let teacher = directory + "/teacher.h5"
        let train = try launch(ranks: 2, ["train-teacher", "--dataset", "builtin", "--split", Self.split, "--model", "lenet5",
                                          "--epochs", "2", "--batch", "50", "--lr", "0.002", "--out", teacher, "--json"])
        XCTAssertEqual(train.status, 0, train.output)
        XCTAssertEqual(occurrences(of: "eval top-1", in: train.output), 1, "one rank reports: \(train.output)")
        XCTAssertTrue(train.output.contains("over 2 ranks"), train.output)
        let trained = try DFKDCommand.lastJSON(train.output)
        let metrics = try String(contentsOfFile: directory + "/teacher.metrics.jsonl", encoding: .utf8)
        XCTAssertEqual(metrics.split(separator: "\n").count, 2, "one metrics line per epoch, written once: \(metrics)")

        // Sharded evaluation counts every image once: 3 ranks give one process's result exactly.
        let evalArguments = ["eval", "--model-file", teacher, "--dataset", "builtin", "--split", Self.split, "--batch", "64", "--json"]
        let alone = try DFKDCommand.run(evalArguments)
        let ranked = try launch(ranks: 3, evalArguments)
        XCTAssertEqual(alone.status, 0, alone.output)
        XCTAssertEqual(ranked.status, 0, ranked.output)
        let aloneResult = try DFKDCommand.lastJSON(alone.output), rankedResult = try DFKDCommand.lastJSON(ranked.output)
        XCTAssertEqual(rankedResult["images"] as? Int, 300)
        XCTAssertEqual(rankedResult["confusion"] as? [[Int]], aloneResult["confusion"] as? [[Int]])
        XCTAssertEqual(aloneResult["eval_top1"] as? Double ?? -1, trained["eval_top1"] as? Double ?? -2, accuracy: 1e-9,
                       "the reported accuracy is the saved model's")

        let out = directory + "/run"
        let distill = try launch(ranks: 2, ["distill", "--teacher", teacher, "--student", "lenet5-half", "--method", "cpsc",
                                            "--dataset", "builtin", "--split", Self.split, "--config", TestFiles.repositoryRoot + "/configs/builtin/cpsc.yaml",
                                            "--epochs", "2", "--iterations", "2", "--out", out, "--json"])
        XCTAssertEqual(distill.status, 0, distill.output)
        XCTAssertEqual(occurrences(of: "restored ratio", in: distill.output), 1, distill.output)
        let summary = try DFKDCommand.lastJSON(distill.output)
        let lines = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2, "one metrics line per epoch, written once")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out + "/grids"), ["epoch-0002.png"])
        let student = try DFKDCommand.run(["eval", "--model-file", out + "/student.h5", "--dataset", "builtin", "--split", Self.split, "--json"])
        XCTAssertEqual(try DFKDCommand.lastJSON(student.output)["eval_top1"] as? Double ?? -1, summary["student_top1"] as? Double ?? -2,
                       accuracy: 1e-9, "student.h5 holds the reported student")
    }

    /// An error every rank meets (a missing teacher) is printed once, without mpirun's
    /// banners, and the job exits with status 1; a diverging run exits with 3, said once.
    func testAnErrorOfEveryRankIsPrintedOnce() throws {
        let directory = TestFiles.scratchDirectory()
        let result = try launch(ranks: 2, ["distill", "--teacher", directory + "/missing.h5", "--student", "lenet5-half",
                                           "--method", "cpsc", "--dataset", "builtin", "--out", directory + "/run"])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertEqual(occurrences(of: "Error:", in: result.output), 1, result.output)
        XCTAssertEqual(occurrences(of: "missing.h5", in: result.output), 1, result.output)
        XCTAssertFalse(result.output.contains("MPI_ABORT") || result.output.contains("-----"), result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/run/metrics.jsonl"))

        try "student-lr: 1e20\n".write(toFile: directory + "/diverging.yaml", atomically: true, encoding: .utf8)
        let diverged = try launch(ranks: 2, ShortDistillation.distill(["--out", directory + "/run", "--config", directory + "/diverging.yaml"]))
        XCTAssertEqual(diverged.status, 3, diverged.output)
        XCTAssertEqual(occurrences(of: "diverged at epoch 1", in: diverged.output), 1, diverged.output)
    }

    /// An error on one rank alone (rank 0 writes the files, and its disk is full) is
    /// printed once, naming the rank, and ends the ranks still waiting in their collectives.
    func testAnErrorOfOneRankEndsTheJob() throws {
        guard let disk = try TestFiles.mountTmpfs("size=64k") else { return }
        defer { _ = try? Subprocess.run("/bin/umount", [disk]) }
        let result = try launch(ranks: 2, ShortDistillation.distill(["--out", disk + "/run"]), timeout: 300)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertEqual(occurrences(of: "Error: MPI rank 0 of 2", in: result.output), 1, result.output)
        XCTAssertTrue(result.output.contains("no space left on device"), result.output)
        XCTAssertFalse(result.output.contains("MPI_ABORT"), result.output)
    }

    /// SIGINT to the launcher (as Ctrl-C sends it) stops every rank after its iteration with
    /// a checkpoint, as it stops a single process: status 75, reported once, resumable.
    func testSIGINTToTheLauncherStopsTheRanksWithACheckpoint() throws {
        let directory = TestFiles.scratchDirectory() + "/run"
        let job = try RunningProcess("/bin/bash", [ShortDistillation.launcher, "--ranks", "2", "--oversubscribe", "--", DFKDCommand.binary]
                                     + ShortDistillation.distill(["--out", directory], epochs: 200))
        XCTAssertTrue(job.wait(for: "iterations/s"), job.output)
        job.signal(SIGINT)
        let (status, output) = job.finish()
        XCTAssertEqual(status, 75, output)
        XCTAssertEqual(occurrences(of: "stopped on request", in: output), 1, output)
        XCTAssertFalse(CheckpointSeries(directory: directory + "/checkpoints").files().isEmpty, "a checkpoint to resume from")
    }

    /// Rank 0 draws the sample grid alone. With a teacher that has batch norms (recording
    /// their statistics for GIP's BNS term) and an unconditional generator, the grid's teacher
    /// pass once entered collectives the other ranks never joined: the job hung, or failed
    /// when the next step's collectives crossed them.
    func testGridsOfABatchNormTeacherOverRanksFinish() throws {
        let directory = TestFiles.scratchDirectory()
        let teacher = directory + "/wrn.h5"
        let train = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--split", "200:100", "--model", "wrn-16-1",
                                         "--epochs", "1", "--batch", "50", "--out", teacher])
        XCTAssertEqual(train.status, 0, train.output)
        let out = directory + "/run"
        try "batch: 16\nreal-batch: 32\nnoise: 32\ngenerator-widths: [8, 8, 4]\n".write(toFile: directory + "/small.yaml", atomically: true, encoding: .utf8)
        let distill = try launch(ranks: 2, ["distill", "--teacher", teacher, "--student", "lenet5-half", "--method", "gip",
                                            "--dataset", "builtin", "--split", "200:100", "--config", directory + "/small.yaml",
                                            "--epochs", "2", "--iterations", "2", "--grid-every", "1", "--out", out], timeout: 240)
        XCTAssertEqual(distill.status, 0, "the job must end (124: it hung): \(distill.output)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out + "/grids").sorted(), ["epoch-0001.png", "epoch-0002.png"])
    }

    /// A rank the kernel kills (SIGKILL, as the out-of-memory killer sends) cannot say so
    /// itself: the launcher names it, its host and the signal; a rank's own error passes as
    /// it printed it, without mpirun's banners.
    func testARankKilledByASignalIsNamed() throws {
        let directory = TestFiles.scratchDirectory()
        let job = try RunningProcess("/bin/bash", [TestFiles.repositoryRoot + "/launch/mpirun.sh", "--ranks", "2", "--oversubscribe", "--",
                                                   DFKDCommand.binary] + ShortDistillation.distill(["--out", directory + "/run"], epochs: 10_000))
        XCTAssertTrue(job.wait(for: "distill: cpsc"), job.output)
        let rankOne = try XCTUnwrap(RankProcess.find(withArgument: directory + "/run", rank: 1), "rank 1 not found")
        kill(rankOne, SIGKILL)
        let ended = job.finish()
        XCTAssertEqual(ended.status, 128 + SIGKILL, ended.output)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        XCTAssertTrue(ended.output.contains("launch/mpirun.sh: rank 1 on host \(host) was killed by SIGKILL (signal 9)"), ended.output)

        let failing = try Subprocess.run("/bin/bash", [TestFiles.repositoryRoot + "/launch/mpirun.sh", "--ranks", "2", "--oversubscribe", "--",
                                                       "/bin/bash", "-c", "[ $OMPI_COMM_WORLD_RANK = 1 ] || exit 0; echo \"rank 1 failed\" >&2; exit 3"])
        XCTAssertEqual(failing.status, 3, failing.output)
        XCTAssertTrue(failing.output.contains("rank 1 failed") && !failing.output.contains("-----") && !failing.output.contains("mpirun"),
                      failing.output)
    }

    /// `--max-restarts`: a rank killed mid-run restarts the job as `--resume DIR`, which ends
    /// bit for bit as the uninterrupted 2-rank run; an error of the run (status 1) and a stop
    /// (75) are never restarted.
    func testALostRankRestartsTheJobAsAResumeAndAnErrorDoesNot() throws {
        let directory = TestFiles.scratchDirectory()
        let launcher = [TestFiles.repositoryRoot + "/launch/mpirun.sh", "--ranks", "2", "--oversubscribe"]
        let options = ["--checkpoint-every", "2"]
        let reference = try Subprocess.run("/bin/bash", launcher + ["--", DFKDCommand.binary]
                                           + ShortDistillation.distill(["--out", directory + "/reference"] + options, epochs: 6))
        XCTAssertEqual(reference.status, 0, reference.output)

        let run = directory + "/run"
        let job = try RunningProcess("/bin/bash", launcher + ["--max-restarts", "1", "--", DFKDCommand.binary]
                                     + ShortDistillation.distill(["--out", run] + options, epochs: 6))
        XCTAssertTrue(job.wait(for: "distill: cpsc"), job.output)
        let deadline = Date().addingTimeInterval(60)
        while CheckpointSeries(directory: run + "/checkpoints").files().isEmpty && Date() < deadline { usleep(20_000) }
        kill(try XCTUnwrap(RankProcess.find(withArgument: run, rank: 1), "rank 1 not found"), SIGKILL)
        let ended = job.finish()
        XCTAssertEqual(ended.status, 0, ended.output)
        for part in ["rank 1 on host", "the job lost a rank or a host (status 137)", "restart 1 of at most 1", "--resume \(run)", "resuming \(run)/checkpoints/"] {
            XCTAssertTrue(ended.output.contains(part), "'\(part)' is not in:\n\(ended.output)")
        }
        try CheckpointResumeTests.assertSameRun(run, directory + "/reference")

        let failing = try Subprocess.run("/bin/bash", launcher + ["--max-restarts", "3", "--", DFKDCommand.binary]
                                         + ShortDistillation.distill(["--out", directory + "/failing", "--teacher", directory + "/absent.h5"]))
        XCTAssertEqual(failing.status, 1, failing.output)
        XCTAssertFalse(failing.output.contains("restart"), failing.output)
        let stopped = try RunningProcess("/bin/bash", launcher + ["--max-restarts", "3", "--", DFKDCommand.binary]
                                         + ShortDistillation.distill(["--out", directory + "/stopped"], epochs: 10_000))
        XCTAssertTrue(stopped.wait(for: "distill: cpsc"), stopped.output)
        stopped.signal(SIGTERM)
        let stop = stopped.finish()
        XCTAssertEqual(stop.status, 75, stop.output)
        XCTAssertFalse(stop.output.contains("restart"), stop.output)
    }
}
