import Dispatch
import Foundation
import Training

/// A host a sweep runs on and the cores it may use there.
struct SweepHost {
    let name: String
    let slots: Int
    /// This machine, reached without a remote shell.
    let isThisMachine: Bool

    static var thisMachine: SweepHost {
        SweepHost(name: "localhost", slots: max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))), isThisMachine: true)
    }

    /// The hosts of an Open MPI hostfile: `HOST [slots=N] ...` per line, `#` comments; a
    /// host without slots gives one core.
    static func read(_ path: String) throws -> [SweepHost] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw CommandError("\(path): cannot be read (\(error.localizedDescription))") }
        var hosts: [SweepHost] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.prefix { $0 != "#" }.split(whereSeparator: \.isWhitespace)
            guard let name = words.first else { continue }
            var slots = 1
            for word in words.dropFirst() where word.hasPrefix("slots=") {
                guard let count = Int(word.dropFirst(6)), count > 0 else {
                    throw CommandError("\(path):\(number + 1): '\(word)': expected slots=N with N a positive number of cores")
                }
                slots = count
            }
            hosts.append(SweepHost(name: String(name), slots: slots, isThisMachine: false))
        }
        guard !hosts.isEmpty else { throw CommandError("\(path): lists no host") }
        return hosts
    }
}

/// Runs a sweep's runs side by side without Slurm: each on `ranks x threads` cores of one
/// host, its ranks bound to those cores by a rankfile, started through launch/mpirun.sh.
/// SIGINT, SIGTERM or SIGUSR1 stop every run with a checkpoint (launch/mpirun.sh passes the
/// stop on) and start no more.
final class HostfileRunner {
    private let plan: SweepPlan
    private let directory: SweepDirectory
    private let hosts: [SweepHost]
    private let maxParallel: Int
    private let rshAgent: String?
    private let network: String?
    private let launcher: String
    private let lock: Int32

    init(plan: SweepPlan, directory: SweepDirectory, hosts: [SweepHost], maxParallel: Int?, rshAgent: String?, network: String?) throws {
        let need = plan.ranks * plan.threads
        guard hosts.contains(where: { $0.slots >= need }) else {
            throw CommandError("each run needs \(plan.ranks) rank(s) x \(plan.threads) thread(s) = \(need) cores on one host; the most a host "
                               + "offers is \(hosts.map(\.slots).max() ?? 0)")
        }
        (self.plan, self.directory, self.hosts) = (plan, directory, hosts)
        self.maxParallel = maxParallel ?? Int.max
        (self.rshAgent, self.network) = (rshAgent, network)
        launcher = try RepositoryScripts.path("launch/mpirun.sh")
        lock = open(directory.lock, O_CREAT | O_RDWR, 0o644)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            throw CommandError("\(directory.path): another dfkd sweep runs this sweep (it holds \(directory.lock)); wait for it to end")
        }
    }

    deinit { close(lock) }

    private struct Active {
        let run: SweepRun
        let process: Process
        let host: Int
        let cores: [Int]
        let started: Date
    }

    /// Runs `runs` to their ends; their states in order.
    func run(_ runs: [SweepRun]) throws -> [RunState] {
        var free = hosts.map { Array(0..<$0.slots) }
        var pending = runs[...]
        var active: [Active] = []
        var states: [String: RunState] = [:]
        let ended = DispatchSemaphore(value: 0)
        StopRequest.install()
        let need = plan.ranks * plan.threads
        var stopsSent = false
        while !pending.isEmpty || !active.isEmpty {
            while !StopRequest.isRequested, active.count < maxParallel, let run = pending.first,
                  let host = free.indices.first(where: { free[$0].count >= need }) {
                pending.removeFirst()
                let cores = Array(free[host].prefix(need))
                free[host].removeFirst(need)
                do {
                    active.append(try start(run, on: host, cores: cores) { ended.signal() })
                } catch {
                    // The runs already started go on; this one is rerun by the next invocation.
                    print("run \(run.name) could not start on \(hosts[host].name): \(error)")
                    free[host] = (free[host] + cores).sorted()
                    states[run.name] = .failed(status: 1)
                    try? directory.run(run.name).record(.failed(status: 1))
                }
            }
            if StopRequest.isRequested && !stopsSent {
                stopsSent = true
                print("sweep: asked to stop; the running runs write a checkpoint, no more start")
                for item in active { kill(item.process.processIdentifier, SIGUSR1) }
            }
            if active.isEmpty { break }
            // A stop request wakes no semaphore: look at it twice a second.
            _ = ended.wait(timeout: .now() + 0.5)
            for (index, item) in active.enumerated().reversed() where !item.process.isRunning {
                active.remove(at: index)
                free[item.host] = (free[item.host] + item.cores).sorted()
                let state = RunState(exitStatus: item.process.terminationStatus)
                try directory.run(item.run.name).record(state)
                states[item.run.name] = state
                print(String(format: "run %@ %@ on %@ after %.0f s", item.run.name, state.line, hosts[item.host].name,
                             Date().timeIntervalSince(item.started)))
            }
        }
        return runs.map { states[$0.name] ?? .pending }
    }

    private func start(_ run: SweepRun, on host: Int, cores: [Int], ended: @escaping @Sendable () -> Void) throws -> Active {
        let place = directory.run(run.name)
        let rankfile = place.rankfile
        let target = hosts[host]
        let lines = (0..<plan.ranks).map { rank in
            let mine = cores[(rank * plan.threads)..<((rank + 1) * plan.threads)]
            return "rank \(rank)=\(target.name) slot=\(mine.map(String.init).joined(separator: ","))\n"
        }
        try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: rankfile))
        var arguments = [launcher, "--threads-per-rank", "\(plan.threads)", "--rankfile", rankfile]
        if !target.isThisMachine {
            let hostfile = place.hostfile
            try Data("\(target.name) slots=\(cores.count)\n".utf8).write(to: URL(fileURLWithPath: hostfile))
            arguments += ["--hostfile", hostfile] + (rshAgent.map { ["--rsh-agent", $0] } ?? []) + (network.map { ["--network", $0] } ?? [])
        }
        arguments += ["--", RepositoryScripts.executable, "distill", "--resume", place.path] + run.arguments(in: place)

        if !FileManager.default.fileExists(atPath: place.log) { FileManager.default.createFile(atPath: place.log, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: place.log) else { throw CommandError("\(place.log): cannot be written") }
        log.seekToEndOfFile()
        log.write(Data("sweep: start on \(target.name), cores \(cores.map(String.init).joined(separator: ",")), \(ISO8601DateFormatter().string(from: Date()))\n".utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        (process.standardOutput, process.standardError, process.standardInput) = (log, log, FileHandle.nullDevice)
        process.terminationHandler = { _ in ended() }
        try place.record(.running(where: "pid:\(getpid())", host: target.name))
        try process.run()
        try? log.close()
        print("run \(run.name) started on \(target.name), cores \(cores.map(String.init).joined(separator: ","))")
        return Active(run: run, process: process, host: host, cores: cores, started: Date())
    }
}
