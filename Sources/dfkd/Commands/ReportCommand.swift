import ArgumentParser
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Summarise a sweep's runs, or one run directory: summary.csv, summary.md and report.html.",
        discussion: """
        For a sweep's directory (dfkd sweep --out DIR) one row per run: its grid values, its \
        state (pending, running, finished, stopped, failed), epochs done, final and best \
        student top-1, the teacher's, the restored ratio and the wall time. report.html is one \
        static file (no server, nothing downloaded) with, per run, the restored ratio against \
        wall time and against epoch, the loss terms and the last sample grid. For a run's \
        directory (dfkd distill --out DIR) the same for that run. The files are written into DIR, \
        or into --out. With a seed axis, seeds.csv and summary.md also give each group of runs \
        over its seeds: the mean and standard deviation of the kept student's top-1 and \
        restored ratio, its gap to the best epoch, and the mean and variance of top-1 over the \
        second half of training. summary.md ends with the selection study: the real top-1 of \
        the student each data-free rule kept against the best epoch's. Several directories \
        (with --out) are summarised together, each run named by its sweep.
        """)

    @Argument(help: "Sweeps' or runs' directories.") var directories: [String]
    @Option(help: "Where the summary goes (default: the one directory given; needed with several).") var out: String?

    func validate() throws {
        if directories.isEmpty { throw ValidationError("give a sweep's or a run's directory") }
        if directories.count > 1 && out == nil { throw ValidationError("several directories need --out DIR for their summary") }
    }

    func run() throws {
        let out = self.out ?? directories[0]
        let runs = try SweepReport.write(directories, to: out)
        let table = SummaryTable(axes: [], runs: runs)
        for run in runs { print(table.row(run).prefix(8).joined(separator: "\t")) }
        print("summary: \(out)/summary.csv, \(out)/summary.md, \(out)/report.html")
    }
}
