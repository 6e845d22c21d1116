import Foundation
import TestSupport
import XCTest

/// A throwaway Slurm cluster (cluster/slurm-local.sh) for the tests of the batch scripts:
/// munge, slurmctld and slurmd from Debian's packages, every file under the test's scratch
/// directory, stopped when the test ends, also when it fails.
struct LocalSlurm {
    let directory: String
    static let script = TestFiles.repositoryRoot + "/cluster/slurm-local.sh"
    static let batchScript = TestFiles.repositoryRoot + "/cluster/dfkd.sbatch"

    /// Starts a cluster of `nodes` nodes and registers its teardown with `test`; skips the
    /// test where the machine cannot run the daemons (not root).
    /// Several nodes are namespace hosts PREFIX1..PREFIXN (cluster/netns-hosts.sh).
    static func start(for test: XCTestCase, nodes: Int = 1, prefix: String = "dfkdsl",
                      file: StaticString = #filePath, line: UInt = #line) throws -> LocalSlurm {
        guard getuid() == 0 else { throw XCTSkip("a local Slurm needs root to run munged, slurmctld and slurmd") }
        let slurm = LocalSlurm(directory: TestFiles.scratchDirectory("slurm") + "/cluster")
        test.addTeardownBlock { _ = try? Subprocess.run("/bin/bash", [script, "down", slurm.directory]) }
        let up = try Subprocess.run("/bin/bash", [script, "up", slurm.directory, "\(nodes)", prefix], timeout: 90)
        XCTAssertEqual(up.status, 0, "the local Slurm did not start: \(up.output)", file: file, line: line)
        guard up.status == 0 else { throw XCTSkip("no local Slurm") }
        return slurm
    }

    /// Runs a Slurm client command (sbatch, squeue, scontrol, scancel) against this cluster
    /// (from host 1 of namespace hosts).
    func run(_ command: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run("/bin/bash", [Self.script, "client", directory, command] + arguments, timeout: 60)
    }

    /// Submits and returns the job id.
    func submit(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try run("sbatch", ["--parsable"] + arguments)
        XCTAssertEqual(result.status, 0, result.output, file: file, line: line)
        return try XCTUnwrap(result.output.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) }, file: file, line: line)
    }

    /// The job's fields as `scontrol show job` gives them (JobState, ExitCode, Restarts, ...).
    func fields(of job: String) throws -> [String: String] {
        let text = try run("scontrol", ["show", "job", job]).output
        var fields: [String: String] = [:]
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2, fields[String(parts[0])] == nil { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// Polls until `condition` holds for the job's fields, or fails after `seconds`.
    @discardableResult
    func wait(for job: String, atMost seconds: Double = 120, until condition: ([String: String]) -> Bool,
              file: StaticString = #filePath, line: UInt = #line) throws -> [String: String] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let fields = try fields(of: job)
            if condition(fields) { return fields }
            usleep(200_000)
        }
        let fields = try fields(of: job)
        XCTFail("job \(job) did not get there in \(seconds) s: \(fields["JobState"] ?? "?") \(fields["Reason"] ?? "")", file: file, line: line)
        return fields
    }

    /// Starts a requeued job at once instead of after the two minutes Slurm holds it.
    /// `steps` is the job's own number where `job` names an array task.
    ///
    /// Slurm's hold outlasts what the test must wait for by hand:
    /// - the stopped steps, which take a few seconds to end (a new step of the same number
    ///   would collide with them);
    /// - the node's revocation of the stopped start's credential, kept in whole seconds:
    ///   it refuses a new start whose credential is dated within the second of the
    ///   revocation ("Job N already killed, do not launch batch job"), and the job fails.
    func startRequeuedJobNow(_ job: String, steps: String? = nil, atMost seconds: Double = 60,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try Subprocess.run("/usr/bin/pgrep", ["-f", "slurmstepd: \\[\(steps ?? job)\\."]).status != 1 {
            guard Date() < deadline else {
                return XCTFail("job \(job)'s steps are still running after \(seconds) s", file: file, line: line)
            }
            usleep(200_000)
        }
        // The revocation came before the steps ended; its second is over a second later.
        usleep(1_100_000)
        let start = try run("scontrol", ["update", "JobId=\(job)", "StartTime=now"])
        XCTAssertEqual(start.status, 0, start.output, file: file, line: line)
    }

    /// Waits for the job to end and returns its fields.
    func waitForEnd(of job: String, atMost seconds: Double = 120, file: StaticString = #filePath, line: UInt = #line) throws -> [String: String] {
        try wait(for: job, atMost: seconds, until: { !["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "SUSPENDED"]
                .contains($0["JobState"] ?? "") }, file: file, line: line)
    }
}
