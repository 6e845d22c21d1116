import Dispatch
import Foundation

/// Who holds a run's lock, as its lock file records it (one `key: value` line each, for a
/// user to read with cat).
public struct LockHolder: Equatable, Sendable {
    public var host: String
    public var pid: Int32
    /// When the process started (clock ticks after boot, field 22 of /proc/PID/stat) and the
    /// boot it started in: a process id that was reused after the holder ended, or after a
    /// reboot, is not the holder.
    public var processStart: UInt64
    public var bootID: String
    public var command: String
    public var since: String
    /// Unique to one taking of the lock: a file of the same name made later (even on the inode
    /// the old one freed) is not this holder's.
    public var token: String

    /// This process.
    public static func current(command: String) -> LockHolder {
        LockHolder(host: HostIdentity.name, pid: getpid(), processStart: HostIdentity.processStart(getpid()) ?? 0,
                   bootID: HostIdentity.bootID, command: command.split(whereSeparator: \.isNewline).joined(separator: " "),
                   since: ISO8601DateFormatter().string(from: Date()), token: UUID().uuidString)
    }

    var text: String {
        "host: \(host)\npid: \(pid)\nprocess-start: \(processStart)\nboot-id: \(bootID)\nsince: \(since)\ntoken: \(token)\ncommand: \(command)\n"
    }

    /// Nil for a file that is not a whole lock record (one being written, or damaged).
    init?(text: String) {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let host = fields["host"], let pid = fields["pid"].flatMap(Int32.init), let start = fields["process-start"].flatMap(UInt64.init),
              let boot = fields["boot-id"], let command = fields["command"], let since = fields["since"], let token = fields["token"] else { return nil }
        self.init(host: host, pid: pid, processStart: start, bootID: boot, command: command, since: since, token: token)
    }

    init(host: String, pid: Int32, processStart: UInt64, bootID: String, command: String, since: String, token: String) {
        (self.host, self.pid, self.processStart, self.bootID) = (host, pid, processStart, bootID)
        (self.command, self.since, self.token) = (command, since, token)
    }
}

/// This machine's name, boot and processes, as a lock judges its holder.
enum HostIdentity {
    static let name: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    static let bootID: String = ((try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "unknown")
        .trimmingCharacters(in: .whitespacesAndNewlines)

    /// Field 22 of /proc/PID/stat, nil when no such process lives (a zombie, ended but not
    /// yet reaped, is none). The command name (field 2) may hold spaces and parentheses: the
    /// fields after it follow the last ')'.
    static func processStart(_ pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields 3, 4, ... follow the name: field 3 is the state, field 22 the 20th of them.
        guard fields.count > 19, !["Z", "X", "x"].contains(fields[0]) else { return nil }
        return UInt64(fields[19])
    }
}

/// The lock of a run's output directory (or of a trained model's files): a file created
/// with O_EXCL, which works on shared file systems between hosts, holding its holder
/// (`LockHolder`), whose modification time the holder renews every `heartbeatSeconds` while
/// it lives. A second run is refused, naming the holder. A holder on this host (same name,
/// same boot) is judged by its process (ended, or its id reused, and the lock is taken); a
/// holder elsewhere only by its heartbeat, taken over with a warning once it is older than
/// `staleSeconds`.
public final class RunLock: @unchecked Sendable {  // `released` and the timer change under `queue`
    public let path: String
    /// How old a heartbeat from another host must be before its lock is taken over: long
    /// enough for a loaded shared file system to pass several heartbeats on. A run refused
    /// meanwhile can be started again once that time has passed. DFKD_LOCK_STALE_SECONDS
    /// overrides it.
    public static var staleSeconds: Double {
        ProcessInfo.processInfo.environment["DFKD_LOCK_STALE_SECONDS"].flatMap(Double.init).map { max(0, $0) } ?? 120
    }
    /// How often the holder renews the lock file's modification time: well within the
    /// time after which another host takes a silent holder's lock over.
    public static var heartbeatSeconds: Double { min(10, staleSeconds / 4) }

    /// The record this process wrote: a file of the lock's name holding another is not its lock.
    private let record: String
    private let queue = DispatchQueue(label: "dfkd.run-lock")
    private var heartbeat: DispatchSourceTimer?
    private var released = false
    /// Called once the lock is found taken from this process (set when it was taken).
    private var lost: (@Sendable (String) -> Void)?

    /// Takes the lock at `path` for `command`, or throws an error naming who holds it.
    /// `note` receives a sentence when a dead or silent holder's lock was taken over;
    /// `lost` is called once (on a background queue) if the lock is later found taken from
    /// this process, which should then stop without writing another file.
    public init(_ path: String, command: String, note: (String) -> Void, lost: @escaping @Sendable (String) -> Void) throws {
        self.path = path
        record = LockHolder.current(command: command).text
        var takenOver: String?
        var unreadableFor: Double?
        for _ in 0..<50 {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor >= 0 {
                defer { close(descriptor) }
                let bytes = Array(record.utf8)
                guard write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
                    let reason = String(cString: strerror(errno))
                    unlink(path)
                    throw StorageError(file: path, "the run's lock cannot be written: \(reason)")
                }
                if let takenOver { note(takenOver) }
                self.lost = lost
                startHeartbeat()
                return
            }
            guard errno == EEXIST else {
                throw StorageError(file: path, "the run's lock cannot be created: \(String(cString: strerror(errno)))")
            }
            var status = stat()
            guard stat(path, &status) == 0 else { continue }  // released meanwhile
            let age = max(0, Date().timeIntervalSince1970 - (Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9))
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            switch Self.judge(LockHolder(text: text), heartbeatAge: age) {
            case .live(let description):
                throw StorageError(file: path, "held by another run: \(description). Wait for it to end or write elsewhere; "
                                   + "if it is known to be dead, remove \(path)")
            case .beingWritten:
                unreadableFor = age
                usleep(100_000)
            case .dead(let reason, let isWarning):
                if Self.takeOver(path, judged: text) {
                    takenOver = (isWarning ? "warning: " : "note: ") + "\(path): \(reason); this run takes the directory over"
                }
            }
        }
        if let unreadableFor {
            throw StorageError(file: path, "holds no readable lock record (written \(Int(unreadableFor)) s ago); if no run is starting on "
                               + "this directory, remove it")
        }
        throw StorageError(file: path, "the run's lock changed hands too often to be taken; is another run starting on this directory?")
    }

    enum Judgement: Equatable {
        case live(String)
        /// A warning when the holder may still live (another host's that went silent).
        case dead(String, warning: Bool)
        case beingWritten
    }

    static func judge(_ holder: LockHolder?, heartbeatAge age: Double) -> Judgement {
        let stale = staleSeconds
        guard let holder else {
            return age > stale ? .dead("its lock file is unreadable and untouched for \(Int(age)) s", warning: true) : .beingWritten
        }
        let who = "\(holder.command) (process \(holder.pid) on host \(holder.host), since \(holder.since), heartbeat \(Int(age)) s ago)"
        if holder.host == HostIdentity.name && holder.bootID == HostIdentity.bootID {
            guard let start = HostIdentity.processStart(holder.pid), start == holder.processStart else {
                return .dead("its holder \(who) has ended", warning: false)
            }
            return .live(who)
        }
        // Another machine's process cannot be seen from here (a host of the same name but
        // another boot may be a second machine so named): only a heartbeat that stopped says it died.
        return age > stale ? .dead("its holder \(who) on another host has not renewed it for more than \(Int(stale)) s", warning: true)
            : .live(who)
    }

    /// Removes the lock file judged dead, if it still holds the record judged (another run
    /// may have taken it over first); true when this process removed it.
    private static func takeOver(_ path: String, judged: String) -> Bool {
        let aside = path + ".taken-\(getpid())"
        guard rename(path, aside) == 0 else { return false }
        if (try? String(contentsOfFile: aside, encoding: .utf8)) == judged {
            unlink(aside)
            return true
        }
        // A live run's fresh lock: put it back (link fails if a third took the name meanwhile).
        link(aside, path)
        unlink(aside)
        return false
    }

    /// Whether the lock file still holds this process's record, looked at twice a short
    /// while apart when it does not: a run taking over a dead lock moves files for an instant.
    private func isHeld() -> Bool {
        for attempt in 0..<2 {
            if (try? String(contentsOfFile: path, encoding: .utf8)) == record { return true }
            if attempt == 0 { usleep(200_000) }
        }
        return false
    }

    private var lossMessage: String {
        "\(path): another run took this directory over while this one ran (its heartbeat reached the shared file system too late); "
            + "this run stops without writing more"
    }

    private func startHeartbeat() {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let period = max(0.05, Self.heartbeatSeconds)
        timer.schedule(deadline: .now() + period, repeating: period)
        timer.setEventHandler { [unowned self] in
            guard !released else { return }
            guard isHeld() else {
                heartbeat?.cancel()
                released = true
                lost?(lossMessage)
                return
            }
            utimensat(AT_FDCWD, path, nil, 0)
        }
        heartbeat = timer
        timer.resume()
    }

    /// Gives the directory up: the lock file goes, if it is still this run's. Once. A run
    /// ending (or failing) after its lock was taken from it, before a heartbeat noticed,
    /// is told so as the heartbeat would have.
    public func release() {
        let releasing = queue.sync { () -> Bool in
            heartbeat?.cancel()
            heartbeat = nil
            defer { released = true }
            return !released
        }
        guard releasing, let lost else { return }
        if isHeld() { unlink(path) } else { lost(lossMessage) }
    }

    deinit { release() }
}
