import ArgumentParser
import Foundation
import Training

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Expand a sweep file into distillation runs and run them: here, over the hosts of a hostfile, or as a Slurm job array.",
        discussion: """
        A sweep file (YAML; configs/sweeps/ holds the papers' ablations) gives the options every \
        run shares and a grid of values; each combination is a run in DIR/runs/NAME, its name \
        made of its grid values. Without --slurm the runs go side by side on this machine, or \
        over the hosts of --hostfile (Open MPI's format, 'HOST slots=CORES'), each run on its own \
        cores of one host. --slurm submits the runs as one job array, at most --max-parallel at \
        once, each task through cluster/dfkd.sbatch (stopping with a checkpoint before its time \
        limit and requeueing itself), and a summary job that runs after the array, whatever its \
        end. Running the same command again skips the finished runs and starts the others, \
        resuming each from its last checkpoint if it wrote one: a sweep that crashed, was \
        cancelled or lost a node is finished that way. DIR/summary.csv, summary.md and \
        report.html summarise the runs (dfkd report DIR writes them again at any time).
        """)

    @Argument(help: "The sweep file (YAML).") var file: String
    @Option(help: "The sweep's directory (default: runs/sweeps/NAME, NAME the sweep's).") var out: String?
    @Flag(help: "List the runs, their states and directories; run nothing.") var list = false
    @Flag(help: "Submit to Slurm (sbatch) instead of running here.") var slurm = false
    @Option(help: "At most this many runs at once: array tasks under --slurm (default: the sweep file's slurm: max-parallel, else all).")
    var maxParallel: Int?
    @Option(help: "Run over these hosts (Open MPI hostfile, 'HOST slots=CORES'; without it, this machine and its cores).")
    var hostfile: String?
    @Option(help: "How mpirun reaches the hosts of --hostfile (default ssh).") var rshAgent: String?
    @Option(help: "Keep MPI's traffic on this network (CIDR), with --hostfile.") var network: String?
    @Option(parsing: .upToNextOption, help: "Run only these runs (their names, as --list shows them); the others stay as they are.")
    var only: [String] = []

    func validate() throws {
        guard !(slurm && hostfile != nil) else { throw ValidationError("--hostfile runs without Slurm; --slurm runs on Slurm's nodes: give one") }
        if let maxParallel, maxParallel < 1 { throw ValidationError("--max-parallel must be at least 1") }
    }

    func run() throws {
        Console.lineBuffered()
        let plan = try SweepPlan(path: file)
        // Absolute: the runs and Slurm's tasks find it from any directory.
        let directory = SweepDirectory(path: StoredRun.absolute(out ?? "runs/sweeps/" + plan.name))
        try CommandLineValues.requireDirectoryOrAbsent(directory.path)
        try FileManager.default.createDirectory(atPath: directory.runs, withIntermediateDirectories: true)
        try requireRunnable(plan)
        if list { return printRuns(plan, directory) }
        try SweepManifest(plan: plan).write(to: directory.manifest)
        for run in plan.runs { try directory.run(run.name).prepare(run) }
        let chosen = try chosenRuns(plan)
        let remaining = chosen.filter { directory.run($0.name).state != .finished }
        print("sweep \(plan.name): \(plan.runs.count) run(s) in \(directory.runs)" + (only.isEmpty ? "" : ", \(chosen.count) chosen")
              + ", \(chosen.count - remaining.count) finished, \(remaining.count) to run, each \(plan.ranks) rank(s) x \(plan.threads) thread(s)")
        if slurm {
            try SlurmSubmission(plan: plan, directory: directory, runs: remaining, maxParallel: maxParallel ?? plan.maxParallel).submit()
            return
        }
        let hosts = try hostfile.map(SweepHost.read) ?? [SweepHost.thisMachine]
        let runner = try HostfileRunner(plan: plan, directory: directory, hosts: hosts, maxParallel: maxParallel, rshAgent: rshAgent, network: network)
        let states = try runner.run(remaining)
        try SweepReport.write(directory.path)
        print("summary: \(directory.path)/summary.md, \(directory.path)/report.html")
        if states.contains(where: { if case .failed = $0 { return true } else { return false } }) { throw ExitCode.failure }
        if states.contains(where: { $0 != .finished }) { throw ExitCode(75) }
    }

    /// The runs `--only` names, in the sweep's order; every run without it.
    private func chosenRuns(_ plan: SweepPlan) throws -> [SweepRun] {
        guard !only.isEmpty else { return plan.runs }
        let names = Set(plan.runs.map(\.name))
        let unknown = only.filter { !names.contains($0) }
        guard unknown.isEmpty else {
            throw CommandError("\(file): no run named \(unknown.joined(separator: ", ")); its runs: \(plan.runs.map(\.name).joined(separator: ", "))")
        }
        return plan.runs.filter { only.contains($0.name) }
    }

    /// Reads every run's settings as its distill will, and throws one error naming each run
    /// that cannot start: nothing is run or submitted for a grid with a bad corner.
    private func requireRunnable(_ plan: SweepPlan) throws {
        var problems: [String] = []
        for run in plan.runs {
            do {
                let texts = try run.configFiles.map(ConfigFile.read) + (run.settings.map { [(self.file, $0)] } ?? [])
                let settingsFile = try DistillationSettings.file(texts: texts)
                let method = try DistillationSettings.method(nil, file: settingsFile)
                try DistillationSettings.requireRunnableForAnyTeacher(method: method, file: settingsFile, ranks: plan.ranks)
            } catch {
                problems.append("run \(run.name): \(error)")
            }
        }
        guard problems.isEmpty else { throw CommandError(problems.joined(separator: "\n")) }
    }

    private func printRuns(_ plan: SweepPlan, _ directory: SweepDirectory) {
        for run in plan.runs {
            let place = directory.run(run.name)
            print("\(run.name)\t\(place.state.word)\t\(place.path)\t" + run.arguments(in: place).joined(separator: " "))
        }
    }
}
