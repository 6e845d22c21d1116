import Foundation

/// A sweep's runs submitted as one Slurm job array (one task per run still to finish) and a
/// summary job that runs after every task ended, however it ended.
struct SlurmSubmission {
    let plan: SweepPlan
    let directory: SweepDirectory
    let runs: [SweepRun]
    let maxParallel: Int?

    func submit() throws {
        try requireNoneQueued()
        guard !runs.isEmpty else {
            try SweepReport.write(directory.path)
            print("every run is finished; nothing submitted. summary: \(directory.path)/summary.md")
            return
        }
        let previous = (try? String(contentsOfFile: directory.submissions, encoding: .utf8))?.split(separator: "\n").count ?? 0
        let tasks = directory.taskList(previous + 1)
        try FileManager.default.createDirectory(atPath: (tasks as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.logs, withIntermediateDirectories: true)
        try Data(runs.map { directory.run($0.name).path + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: tasks))
        let binary = RepositoryScripts.executable
        let array = try sbatch(["--job-name", plan.name, "--array", "0-\(runs.count - 1)" + (maxParallel.map { "%\($0)" } ?? ""),
                                "--ntasks", "\(plan.ranks)", "--cpus-per-task", "\(plan.threads)",
                                "--output", directory.logs + "/%A_%a.out"] + plan.sbatchOptions
                               + [try RepositoryScripts.path("cluster/dfkd-sweep.sbatch"), tasks, try RepositoryScripts.path("cluster/dfkd.sbatch"), "--binary", binary])
        let summary = try sbatch(["--job-name", plan.name + "-summary", "--dependency", "afterany:\(array)", "--ntasks", "1",
                                  "--cpus-per-task", "1", "--output", directory.logs + "/summary-%j.out",
                                  "--wrap", "exec \(Self.quoted(binary)) report \(Self.quoted(directory.path))"])
        let line = "\(array) \(summary) \(tasks) \(ISO8601DateFormatter().string(from: Date()))\n"
        let handle = FileHandle(forWritingAtPath: directory.submissions) ?? {
            FileManager.default.createFile(atPath: directory.submissions, contents: nil)
            return FileHandle(forWritingAtPath: directory.submissions)
        }()
        handle?.seekToEndOfFile()
        handle?.write(Data(line.utf8))
        try? handle?.close()
        print("submitted job array \(array) (\(runs.count) task(s)\(maxParallel.map { ", at most \($0) at once" } ?? "")) "
              + "and summary job \(summary) (after the array); task logs in \(directory.logs), each run's in its log.txt")
    }

    /// Refuses while the sweep's last array still has tasks queued or running: a second
    /// array would start the same runs twice.
    private func requireNoneQueued() throws {
        guard let last = (try? String(contentsOfFile: directory.submissions, encoding: .utf8))?.split(separator: "\n").last,
              let array = last.split(separator: " ").first else { return }
        let queued = try Self.command("squeue", ["--noheader", "--jobs", String(array), "--format", "%i %T"])
        if queued.status == 0, !queued.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw CommandError("job array \(array) of this sweep still has tasks queued or running (squeue --jobs \(array)); "
                               + "wait for it or scancel \(array), then submit again")
        }
    }

    private func sbatch(_ arguments: [String]) throws -> String {
        let result = try Self.command("sbatch", ["--parsable"] + arguments)
        guard result.status == 0, let job = result.output.split(separator: "\n").last?.split(separator: ";").first,
              Int(job) != nil else {
            throw CommandError("sbatch failed (status \(result.status)): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return String(job)
    }

    /// Runs a Slurm client command found on PATH: its status and its output and errors together.
    static func command(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        let pipe = Pipe()
        (process.standardOutput, process.standardError) = (pipe, pipe)
        do { try process.run() } catch { throw CommandError("\(name) cannot be started: \(error.localizedDescription)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 127 { throw CommandError("\(name) not found: is this a Slurm login node? (Debian: apt-get install slurm-client)") }
        return (process.terminationStatus, output)
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
