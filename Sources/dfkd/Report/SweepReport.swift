import Foundation
import Storage
import Training

/// The summary of a sweep's runs, or of one run directory: summary.csv, summary.md and
/// report.html in the directory, each written whole and then renamed into place.
enum SweepReport {
    /// The runs of `path`: a sweep's (its sweep.json), else the directory as one run.
    static func runs(in path: String) throws -> (title: String, axes: [String], runs: [RunSummary]) {
        let sweep = SweepDirectory(path: path)
        if FileManager.default.fileExists(atPath: sweep.manifest) {
            let manifest = try SweepManifest(file: sweep.manifest)
            return (manifest.name, manifest.axes, manifest.runs.map { RunSummary(name: $0.name, directory: sweep.run($0.name).path, labels: $0.labels) })
        }
        guard FileManager.default.fileExists(atPath: RunDirectory(path).metrics) || FileManager.default.fileExists(atPath: RunDirectory(path).checkpoints) else {
            throw CommandError("\(path): neither a sweep's directory (no sweep.json) nor a run's (no metrics.jsonl or checkpoints/)")
        }
        let name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        return (name, [], [RunSummary(name: name, directory: path)])
    }

    /// The runs of several sweeps' or runs' directories together, each named by its
    /// directory's title and its own name, with a first axis `sweep` (that title), so that
    /// the table over seeds never mixes two sweeps' runs.
    static func runs(in paths: [String]) throws -> (title: String, axes: [String], runs: [RunSummary]) {
        guard paths.count > 1 else { return try runs(in: paths[0]) }
        var axes = ["sweep"], runs: [RunSummary] = [], titles: [String: String] = [:]
        for path in paths {
            let (title, theirs, summaries) = try Self.runs(in: path)
            if let other = titles.updateValue(path, forKey: title) {
                throw CommandError("\(path) and \(other) are both named '\(title)': their runs would be mixed in one summary; report them apart")
            }
            axes += theirs.filter { !axes.contains($0) }
            // A run's own directory is named by its title alone ("b-1", not "b-1/b-1").
            let prefix = theirs.isEmpty && summaries.count == 1 ? nil : title
            runs += summaries.map { run in
                var named = run
                named.name = prefix.map { $0 + "/" + run.name } ?? run.name
                named.labels["sweep"] = title
                return named
            }
        }
        return (paths.map { URL(fileURLWithPath: $0).standardizedFileURL.lastPathComponent }.joined(separator: " + "), axes, runs)
    }

    /// Writes the summary of a sweep's or a run's directory into it.
    @discardableResult
    static func write(_ path: String) throws -> [RunSummary] { try write([path], to: path) }

    /// Writes the summary of the runs of `paths` into `path`.
    @discardableResult
    static func write(_ paths: [String], to path: String) throws -> [RunSummary] {
        let (title, axes, runs) = try runs(in: paths)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let table = SummaryTable(axes: axes, runs: runs)
        try publish(table.csv, to: path + "/summary.csv")
        let seeds = SeedTable(axes: axes, runs: runs)
        if let seeds { try publish(SummaryTable.csv([seeds.header] + seeds.rows), to: path + "/seeds.csv") }
        try publish(table.markdown(title: title) + (seeds.map { "\n" + $0.markdown } ?? "") + "\n" + SelectionTable(runs: runs).markdown,
                    to: path + "/summary.md")
        try publish(ReportPage(title: title, axes: axes, runs: runs).html, to: path + "/report.html")
        return runs
    }

    private static func publish(_ text: String, to file: String) throws {
        try AtomicFile.write(file) { temporary in try Data(text.utf8).write(to: URL(fileURLWithPath: temporary)) }
    }
}

/// One row per run: its grid values, state, epochs, accuracies, restored ratio and time.
struct SummaryTable {
    let axes: [String]
    let runs: [RunSummary]

    var header: [String] {
        ["run", "state"] + axes + ["epochs", "student_top1", "last_top1", "best_top1", "best_epoch", "second_half_mean", "second_half_variance",
                                   "teacher_top1", "restored_ratio", "wall_seconds", "directory", "arguments"]
    }

    func row(_ run: RunSummary) -> [String] {
        func number(_ value: Double?, _ digits: Int = 2) -> String { value.map { String(format: "%.\(digits)f", $0) } ?? "" }
        return [run.name, run.state] + axes.map { run.labels[$0] ?? "" } + [
            "\(run.epochsDone)" + (run.plannedEpochs.map { "/\($0)" } ?? ""), number(run.studentTop1), number(run.lastTop1), number(run.best?.top1),
            run.best.map { "\($0.epoch)" } ?? "", number(run.secondHalf?.mean), number(run.secondHalf?.variance), number(run.teacherTop1),
            number(run.restoredRatio), number(run.wallSeconds, 0), run.directory, run.arguments,
        ]
    }

    /// RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
    var csv: String { Self.csv([header] + runs.map(row)) }

    static func csv(_ rows: [[String]]) -> String {
        func field(_ text: String) -> String {
            text.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        return rows.map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }

    func markdown(title: String) -> String {
        // The directory and the arguments are the CSV's: too long for a table to read.
        var lines = ["# \(title)", "", MarkdownTable.line(Array(header.dropLast(2))), MarkdownTable.rule(header.count - 2)]
        lines += runs.map { MarkdownTable.line(Array(row($0).dropLast(2))) }
        let states = Dictionary(grouping: runs, by: \.state).map { "\($0.value.count) \($0.key)" }.sorted()
        lines += ["", "\(runs.count) run(s): " + states.joined(separator: ", ") + ".", ""]
        return lines.joined(separator: "\n")
    }
}
