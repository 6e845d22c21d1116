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
        directory (dfkd distill --out DIR) the same for that run. The files are written into DIR.
        """)

    @Argument(help: "A sweep's or a run's directory.") var directory: String

    func run() throws {
        let runs = try SweepReport.write(directory)
        let table = SummaryTable(axes: [], runs: runs)
        for run in runs { print(table.row(run).prefix(8).joined(separator: "\t")) }
        print("summary: \(directory)/summary.csv, \(directory)/summary.md, \(directory)/report.html")
    }
}
