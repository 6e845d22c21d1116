import Foundation

/// The runs of a sweep with a `seed` axis, grouped by their other grid values: per group the
/// mean and standard deviation over the seeds of the kept student's top-1 and restored ratio,
/// the gap from the kept student to the best epoch (mean and worst), and the stability of
/// training (the second-half mean and variance, averaged over the seeds). Only finished runs
/// count; the table says how many of the group's runs that is.
struct SeedTable {
    static let seedAxis = "seed"

    struct Group {
        let labels: [String: String]
        let runs: [RunSummary]
        /// The finished runs with a real accuracy: those the figures are over.
        var counted: [RunSummary] { runs.filter { $0.state == "finished" && $0.studentTop1 != nil } }
    }

    let axes: [String]
    let groups: [Group]

    /// nil when the runs have no seed axis to average over.
    init?(axes: [String], runs: [RunSummary]) {
        guard axes.contains(Self.seedAxis) else { return nil }
        let others = axes.filter { $0 != Self.seedAxis }
        var order: [[String]] = [], members: [[String]: [RunSummary]] = [:]
        for run in runs {
            let key = others.map { run.labels[$0] ?? "" }
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(run)
        }
        self.axes = others
        groups = order.map { key in Group(labels: Dictionary(uniqueKeysWithValues: zip(others, key)), runs: members[key]!) }
    }

    var header: [String] {
        axes + ["seeds", "student_top1_mean", "student_top1_std", "restored_ratio_mean", "restored_ratio_std", "best_top1_mean",
                "pick_gap_mean", "pick_gap_worst", "second_half_mean", "second_half_variance"]
    }

    func row(_ group: Group) -> [String] {
        let runs = group.counted
        func number(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "" }
        let top1 = runs.compactMap(\.studentTop1), restored = runs.compactMap(\.restoredRatio), gaps = runs.compactMap(\.pickGap)
        return axes.map { group.labels[$0] ?? "" } + [
            "\(runs.count)/\(group.runs.count)", number(Self.mean(top1)), number(Self.standardDeviation(top1)),
            number(Self.mean(restored)), number(Self.standardDeviation(restored)), number(Self.mean(runs.compactMap { $0.best?.top1 })),
            number(Self.mean(gaps)), number(gaps.max()), number(Self.mean(runs.compactMap { $0.secondHalf?.mean })),
            number(Self.mean(runs.compactMap { $0.secondHalf?.variance })),
        ]
    }

    var rows: [[String]] { groups.map(row) }

    static func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }

    /// The sample standard deviation (divided by n - 1): nil under two values.
    static func standardDeviation(_ values: [Double]) -> Double? {
        guard values.count >= 2, let mean = mean(values) else { return nil }
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }

    var markdown: String {
        var lines = ["## Over seeds", "",
                     "Finished runs only (seeds: counted/all). std: the sample standard deviation over the seeds. pick gap: the best epoch's "
                     + "top-1 less the kept student's. second half: each run's mean and variance of top-1 over its later half of epochs, "
                     + "averaged over the seeds.", "",
                     MarkdownTable.line(header), MarkdownTable.rule(header.count)]
        lines += rows.map(MarkdownTable.line)
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The pipe tables summary.md is made of.
enum MarkdownTable {
    static func line(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |" }
    static func rule(_ columns: Int) -> String { "|" + String(repeating: "---|", count: columns) }
}
