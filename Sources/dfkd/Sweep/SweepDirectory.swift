import Foundation
import Storage
import Training

/// The files of a sweep's directory: the plan, one directory per run under runs/, the
/// task lists of its Slurm submissions and their logs, and the summary.
struct SweepDirectory {
    let path: String

    /// The expanded plan (`SweepManifest`), rewritten by every invocation.
    var manifest: String { path + "/sweep.json" }
    var runs: String { path + "/runs" }
    var logs: String { path + "/logs" }
    /// One line per Slurm submission: the array job, the summary job, the task list.
    var submissions: String { path + "/submissions.log" }
    /// Held while the sweep runs here or over a hostfile, so two invocations never run one run twice.
    var lock: String { path + "/.lock" }
    func run(_ name: String) -> SweepRunDirectory { SweepRunDirectory(path: runs + "/" + name) }
    func taskList(_ number: Int) -> String { path + String(format: "/tasks/submission-%04d.txt", number) }
}

/// A sweep run's directory: the outputs of its `dfkd distill` and what the sweep keeps beside them.
struct SweepRunDirectory {
    let path: String
    var outputs: RunDirectory { RunDirectory(path) }
    /// The run's distill arguments, one per line: what a Slurm task reads.
    var arguments: String { path + "/arguments" }
    /// The settings the sweep gives the run, its last config file.
    var settings: String { path + "/settings.yaml" }
    /// One line: `running WHERE HOST SINCE`, `finished`, `stopped` or `failed STATUS`.
    var status: String { path + "/status" }
    /// Every start's output, appended.
    var log: String { path + "/log.txt" }
    /// Where a run over a hostfile places its ranks, and the host it runs on.
    var rankfile: String { path + "/rankfile" }
    var hostfile: String { path + "/hostfile" }

    /// The names of the files above: `distill --resume` starts a new run in a directory that
    /// holds only these.
    static let files: Set<String> = {
        let place = SweepRunDirectory(path: "")
        return Set([place.arguments, place.settings, place.status, place.log, place.rankfile, place.hostfile].map { ($0 as NSString).lastPathComponent })
    }()

    /// The run's state as its status file says; a run never started has none.
    var state: RunState { RunState(line: (try? String(contentsOfFile: status, encoding: .utf8)) ?? "") }

    /// Writes the arguments and settings of `run`, refusing when a run already started here
    /// with others: its checkpoints would not match, and a finished one would be counted
    /// under settings it did not have.
    func prepare(_ run: SweepRun) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let arguments = run.arguments(in: self).joined(separator: "\n") + "\n"
        let stored = try? String(contentsOfFile: self.arguments, encoding: .utf8)
        let storedSettings = try? String(contentsOfFile: settings, encoding: .utf8)
        if let stored, stored != arguments || storedSettings != run.settings, state != .pending {
            throw CommandError("\(path): this run was started with other options or settings (\(self.arguments), \(settings)) than the sweep "
                               + "file now gives it; remove the directory to run it anew, or give the sweep another --out")
        }
        try write(arguments, to: self.arguments)
        if let text = run.settings { try write(text, to: settings) } else { try? FileManager.default.removeItem(atPath: settings) }
    }

    func record(_ state: RunState) throws { try write(state.line + "\n", to: status) }

    private func write(_ text: String, to file: String) throws {
        try AtomicFile.write(file) { temporary in try Data(text.utf8).write(to: URL(fileURLWithPath: temporary)) }
    }
}

/// Where a sweep's run stands, as its status file records it.
enum RunState: Equatable {
    case pending
    /// Started by `where` (`slurm:JOB` or `pid:PID`) on `host`; also what a run that died
    /// without recording its end shows.
    case running(where: String, host: String)
    case finished
    case stopped
    case failed(status: Int)

    init(line: String) {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        switch words.first {
        case "running": self = .running(where: words.count > 1 ? words[1] : "?", host: words.count > 2 ? words[2] : "?")
        case "finished": self = .finished
        case "stopped": self = .stopped
        case "failed": self = .failed(status: words.count > 1 ? Int(words[1]) ?? 1 : 1)
        default: self = .pending
        }
    }

    /// The end of a run that exited with `status`.
    init(exitStatus status: Int32) {
        switch status {
        case 0: self = .finished
        case StopRequest.resumableStatus: self = .stopped
        default: self = .failed(status: Int(status))
        }
    }

    var line: String {
        switch self {
        case .pending: return "pending"
        case .running(let place, let host): return "running \(place) \(host) \(ISO8601DateFormatter().string(from: Date()))"
        case .finished: return "finished"
        case .stopped: return "stopped"
        case .failed(let status): return "failed \(status)"
        }
    }

    /// The word the summary shows.
    var word: String { String(line.prefix { $0 != " " }) }
}
