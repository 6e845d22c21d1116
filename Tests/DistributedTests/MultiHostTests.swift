import Foundation
import Storage
import TestSupport
import XCTest

/// launch/mpirun.sh across hosts: network-namespace hosts on this machine
/// (cluster/netns-hosts.sh), reached through the matching rsh agent, each rank on its own
/// host name and address. Needs root (as the test command runs on CI).
final class MultiHostTests: XCTestCase {
    private let hosts = 3
    private let prefix = "dfkdt\(getpid() % 100_000)h"
    private var scripts: String { TestFiles.repositoryRoot + "/cluster" }
    private var directory = ""

    override func setUpWithError() throws {
        XCTAssertEqual(getuid(), 0, "network-namespace hosts need root")
        directory = TestFiles.scratchDirectory()
        let up = try Subprocess.run("/bin/bash", [scripts + "/netns-hosts.sh", "up", prefix, "\(hosts)"])
        XCTAssertEqual(up.status, 0, up.output)
        try (1...hosts).map { "10.99.0.\($0) slots=1\n" }.joined().write(toFile: directory + "/hostfile", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        // Whatever a failed test left behind, then the hosts themselves.
        _ = try Subprocess.run("/usr/bin/pkill", ["-KILL", "-f", directory])
        let down = try Subprocess.run("/bin/bash", [scripts + "/netns-hosts.sh", "down", prefix])
        XCTAssertEqual(down.status, 0, down.output)
    }

    /// `command` as a job over the hosts of `hostfile` (every host), started from host 1.
    private func launchArguments(_ command: [String], hostfile: String? = nil, options: [String] = []) -> [String] {
        [scripts + "/netns-hosts.sh", "run", prefix, "1", "timeout", "-k", "10", "300", "bash", TestFiles.repositoryRoot + "/launch/mpirun.sh",
         "--hostfile", hostfile ?? directory + "/hostfile", "--rsh-agent", scripts + "/netns-rsh.sh", "--network", "10.99.0.0/24",
         "--oversubscribe"] + options + ["--"] + command
    }

    private var agentEnvironment: [String: String] { ["DFKD_NETNS_PREFIX": prefix] }

    private func teacher() throws -> String {
        let path = directory + "/teacher.h5"
        let train = try DFKDCommand.run(["train-teacher", "--dataset", "builtin", "--split", "500:100", "--model", "lenet5",
                                         "--epochs", "1", "--batch", "50", "--out", path])
        XCTAssertEqual(train.status, 0, train.output)
        return path
    }

    private func distillArguments(teacher: String, epochs: Int, run: String? = nil) -> [String] {
        [DFKDCommand.binary, "distill", "--teacher", teacher, "--student", "lenet5-half", "--dataset", "builtin", "--split", "500:100",
         "--config", TestFiles.repositoryRoot + "/configs/builtin/cpsc.yaml", "--epochs", "\(epochs)", "--iterations", "3",
         "--out", run ?? directory + "/run"]
    }

    /// Processes (not zombies) whose command line names this test's directory.
    private func survivors() throws -> [String] {
        let listing = try Subprocess.run("/bin/ps", ["-eo", "stat=,args="]).output
        return listing.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Z") && $0.contains(directory) && !$0.contains("ps -eo") }
    }

    func testEveryRankOnItsOwnHostAndADistillationCompletes() throws {
        let checks = try Subprocess.run("/bin/bash", launchArguments([TestFiles.repositoryRoot + "/.build/release/MPIChecks", "collectives"]),
                                        environment: agentEnvironment)
        XCTAssertEqual(checks.status, 0, checks.output)
        for rank in 0..<hosts {
            XCTAssertTrue(checks.output.contains("rank \(rank) of \(hosts) (local 0): collectives ok"), "rank \(rank) alone on its host: \(checks.output)")
        }

        let teacher = try teacher()
        let distill = try Subprocess.run("/bin/bash", launchArguments(distillArguments(teacher: teacher, epochs: 2) + ["--json"]),
                                         environment: agentEnvironment)
        XCTAssertEqual(distill.status, 0, distill.output)
        XCTAssertTrue(distill.output.contains("over \(hosts) ranks"), distill.output)
        XCTAssertEqual(try DFKDCommand.lastJSON(distill.output)["epochs"] as? Int, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/run/student.h5"))
    }

    func testCuttingOffAHostEndsTheJobWithinThirtySeconds() throws {
        let teacher = try teacher()
        let job = Process()
        job.executableURL = URL(fileURLWithPath: "/bin/bash")
        job.arguments = ["-c", "exec \"$@\" > '\(directory)/job.log' 2>&1", "job"] + launchArguments(distillArguments(teacher: teacher, epochs: 1000))
        job.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
            .merging(agentEnvironment) { $1 }
        try job.run()
        // Cut the host once the job is distilling (its first progress line).
        let started = Date()
        while job.isRunning && Date().timeIntervalSince(started) < 60
                && !((try? String(contentsOfFile: directory + "/job.log", encoding: .utf8)) ?? "").contains("distill: cpsc") {
            usleep(200_000)
        }
        usleep(2_000_000)
        XCTAssertTrue(job.isRunning, (try? String(contentsOfFile: directory + "/job.log", encoding: .utf8)) ?? "")
        let cut = try Subprocess.run("/bin/bash", [scripts + "/netns-hosts.sh", "cut", prefix, "\(hosts)"])
        XCTAssertEqual(cut.status, 0, cut.output)
        let cutAt = Date()
        while job.isRunning && Date().timeIntervalSince(cutAt) < 60 { usleep(200_000) }
        let seconds = Date().timeIntervalSince(cutAt)
        let log = (try? String(contentsOfFile: directory + "/job.log", encoding: .utf8)) ?? ""
        XCTAssertFalse(job.isRunning, "the job still runs 60 s after a host was cut off: \(log)")
        XCTAssertLessThanOrEqual(seconds, 30, "the job took \(seconds) s to end: \(log)")
        XCTAssertNotEqual(job.terminationStatus, 0, log)
        // The ranks of every host end with the job.
        var left = try survivors()
        let deadline = Date().addingTimeInterval(10)
        while !left.isEmpty && Date() < deadline {
            usleep(200_000)
            left = try survivors()
        }
        XCTAssertEqual(left, [], "processes left behind")
    }

    /// `launch/mpirun.sh --max-restarts 1 --min-ranks 2`: a host cut off during a 3-host run
    /// is noticed, left out, and the job restarts as a resume on the other two and completes;
    /// its final state equals, bit for bit, a job resumed by hand from the same checkpoint on
    /// the same two hosts.
    func testAJobRestartsOnTheHostsThatRemainAsAResumeByHandWould() throws {
        let teacher = try teacher()
        let log = directory + "/job.log"
        let checkpointing = ["--checkpoint-every", "1", "--keep-checkpoints", "1000", "--checkpoint-minutes", "0"]
        let job = Process()
        job.executableURL = URL(fileURLWithPath: "/bin/bash")
        job.arguments = ["-c", "exec \"$@\" > '\(log)' 2>&1", "job"]
            + launchArguments(distillArguments(teacher: teacher, epochs: 40) + checkpointing, options: ["--max-restarts", "1", "--min-ranks", "2"])
        job.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
            .merging(agentEnvironment) { $1 }
        try job.run()
        func text() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        let started = Date()
        while job.isRunning && Date().timeIntervalSince(started) < 60 && !text().contains("distill: cpsc") { usleep(200_000) }
        usleep(3_000_000)
        XCTAssertTrue(job.isRunning, text())
        let cut = try Subprocess.run("/bin/bash", [scripts + "/netns-hosts.sh", "cut", prefix, "\(hosts)"])
        XCTAssertEqual(cut.status, 0, cut.output)
        // When each step shows in the log, from the cut.
        let cutAt = Date()
        var seen: [String: Double] = [:]
        let steps = ["the job lost a rank or a host", "restarting on 2 rank(s)", "resuming ", "restored ratio"]
        while job.isRunning && Date().timeIntervalSince(cutAt) < 240 {
            let now = text()
            for step in steps where seen[step] == nil && now.contains(step) { seen[step] = Date().timeIntervalSince(cutAt) }
            usleep(200_000)
        }
        job.waitUntilExit()
        let output = text()
        for step in steps where seen[step] == nil && output.contains(step) { seen[step] = Date().timeIntervalSince(cutAt) }
        print("restart after a cut host: noticed after \(seen[steps[0]] ?? .nan) s, restarted after \(seen[steps[1]] ?? .nan) s, "
              + "resumed after \(seen[steps[2]] ?? .nan) s, done after \(seen[steps[3]] ?? .nan) s")
        XCTAssertEqual(job.terminationStatus, 0, output)
        for part in ["host 10.99.0.\(hosts) does not start a process (lost); left out", "--resume \(directory)/run", "over 2 ranks"] {
            XCTAssertTrue(output.contains(part), "'\(part)' is not in:\n\(output)")
        }
        let resumed = try XCTUnwrap(output.components(separatedBy: "resuming ").dropFirst().first?.components(separatedBy: " ").first, output)
        XCTAssertTrue(resumed.hasPrefix(directory + "/run/checkpoints/"), resumed)

        // By hand: the same checkpoint, resumed on hosts 1 and 2.
        let byHand = directory + "/by-hand"
        try FileManager.default.createDirectory(atPath: byHand + "/checkpoints", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: resumed, toPath: byHand + "/checkpoints/" + (resumed as NSString).lastPathComponent)
        let twoHosts = directory + "/two-hosts"
        try "10.99.0.1 slots=1\n10.99.0.2 slots=1\n".write(toFile: twoHosts, atomically: true, encoding: .utf8)
        var resume = distillArguments(teacher: teacher, epochs: 40, run: byHand) + checkpointing
        resume[resume.firstIndex(of: "--out")!] = "--resume"
        let second = try Subprocess.run("/bin/bash", launchArguments(resume, hostfile: twoHosts), environment: agentEnvironment)
        XCTAssertEqual(second.status, 0, second.output)
        let (restarted, expected) = (try CheckpointFile.read(try XCTUnwrap(CheckpointSeries(directory: directory + "/run/checkpoints").files().last)),
                                     try CheckpointFile.read(try XCTUnwrap(CheckpointSeries(directory: byHand + "/checkpoints").files().last)))
        XCTAssertEqual(restarted.state.names.sorted(), expected.state.names.sorted())
        let differing = expected.state.entries.filter { restarted.state[$0.name] != $0 }.map(\.name)
        XCTAssertEqual(differing, [], "the restarted job's final state differs from the resumed-by-hand job's")
    }

    /// A run directory shared between hosts: a holder on another host is never judged dead
    /// from its process id, however long it runs; once its heartbeat stops (the holder
    /// stopped, as a host cut off would leave it) its lock is taken over with a warning,
    /// and the old holder, back, stops without writing.
    func testALockHeldOnAnotherHostIsTakenOverOnlyWhenItsHeartbeatStops() throws {
        let teacher = try teacher()
        let staleness = ["DFKD_LOCK_STALE_SECONDS": "4"]
        func onHost(_ host: Int, _ distill: [String]) -> [String] {
            [scripts + "/netns-hosts.sh", "run", prefix, "\(host)", "timeout", "-k", "10", "60"] + distill
        }
        let holder = try RunningProcess("/bin/bash", onHost(1, distillArguments(teacher: teacher, epochs: 100_000)), environment: staleness)
        XCTAssertTrue(holder.wait(for: "distill: cpsc"), holder.output)
        let lockPath = directory + "/run/run.lock"
        let lock = try String(contentsOfFile: lockPath, encoding: .utf8)
        let holderPid = try XCTUnwrap(lock.split(separator: "\n").first { $0.hasPrefix("pid: ") }.flatMap { Int32($0.dropFirst(5)) }, lock)

        // Longer than the stale time, the live holder keeps its heartbeat and the directory.
        usleep(6_000_000)
        var second = try Subprocess.run("/bin/bash", onHost(2, distillArguments(teacher: teacher, epochs: 1)), environment: staleness)
        XCTAssertEqual(second.status, 1, second.output)
        XCTAssertTrue(second.output.contains("run.lock: held by another run") && second.output.contains("process \(holderPid) on host \(prefix)1"),
                      second.output)

        kill(holderPid, SIGSTOP)
        defer { kill(holderPid, SIGKILL) }
        usleep(5_000_000)
        second = try Subprocess.run("/bin/bash", onHost(2, distillArguments(teacher: teacher, epochs: 1)), environment: staleness)
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.output.contains("warning: \(lockPath): its holder") && second.output.contains("on another host has not renewed it"),
                      second.output)
        kill(holderPid, SIGCONT)
        let ended = holder.finish()
        XCTAssertEqual(ended.status, 1, ended.output)
        XCTAssertTrue(ended.output.contains("another run took this directory over"), ended.output)
    }
}
