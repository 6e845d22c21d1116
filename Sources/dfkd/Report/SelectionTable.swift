import Foundation

/// The selection study (docs/selection.md) over a report's runs: for each run with real
/// accuracies, the real top-1 of the student each data-free rule kept (`last` always, the
/// others when the run measured them with `selection-study`) against the best epoch's, and
/// how the epoch's score on the probe bank ranks the epochs against their real top-1
/// (Spearman's rank correlation). Real accuracy only scores here; no rule reads it.
struct SelectionTable {
    static let rules = ["last", "agreement", "divergence"]

    let runs: [RunSummary]

    init(runs: [RunSummary]) {
        self.runs = runs.filter { ["finished", "stopped"].contains($0.state) && $0.best != nil }
    }

    /// The gap of `rule`'s pick in `run` from its best epoch, in points of top-1.
    func gap(_ rule: String, in run: RunSummary) -> (epoch: Int, top1: Double, gap: Double)? {
        guard let epoch = run.picksByRule[rule], let top1 = run.top1(atEpoch: epoch), let best = run.best else { return nil }
        return (epoch, top1, best.top1 - top1)
    }

    /// Spearman's rank correlation of the epochs' `score` with their real top-1.
    static func rankCorrelation(_ run: RunSummary, score: (([String: Any]) -> Double?)) -> Double? {
        let pairs = run.epochs.compactMap { line -> (Double, Double)? in
            guard let epoch = line["epoch"] as? Int, let value = score(line), value.isFinite, let top1 = run.top1(atEpoch: epoch) else { return nil }
            return (value, top1)
        }
        return pairs.count >= 3 ? spearman(pairs.map(\.0), pairs.map(\.1)) : nil
    }

    /// Pearson's correlation of the ranks, ties sharing their mean rank.
    static func spearman(_ a: [Double], _ b: [Double]) -> Double? {
        func ranks(_ values: [Double]) -> [Double] {
            let order = values.indices.sorted { values[$0] < values[$1] }
            var result = [Double](repeating: 0, count: values.count)
            var start = 0
            while start < order.count {
                var end = start
                while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
                for k in start...end { result[order[k]] = Double(start + end) / 2 }
                start = end + 1
            }
            return result
        }
        let (ra, rb) = (ranks(a), ranks(b))
        let (ma, mb) = (ra.reduce(0, +) / Double(ra.count), rb.reduce(0, +) / Double(rb.count))
        let covariance = zip(ra, rb).map { ($0 - ma) * ($1 - mb) }.reduce(0, +)
        let spread = (ra.map { ($0 - ma) * ($0 - ma) }.reduce(0, +) * rb.map { ($0 - mb) * ($0 - mb) }.reduce(0, +)).squareRoot()
        return spread > 0 ? covariance / spread : nil
    }

    static func probeScore(_ key: String, sign: Double) -> ([String: Any]) -> Double? {
        { line in (line[key] as? NSNumber).map { sign * $0.doubleValue } }
    }

    var header: [String] {
        ["run", "epochs", "best (epoch)"] + Self.rules.map { "\($0): epoch, top-1 (gap)" } + ["Spearman, agreement / divergence"]
    }

    func row(_ run: RunSummary) -> [String] {
        func number(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        let best = run.best.map { String(format: "%.2f (%d)", $0.top1, $0.epoch) } ?? "-"
        let picks = Self.rules.map { rule in gap(rule, in: run).map { String(format: "%d, %.2f (%.2f)", $0.epoch, $0.top1, $0.gap) } ?? "-" }
        let agreement = Self.rankCorrelation(run, score: Self.probeScore("probe_agreement", sign: 1))
        let divergence = Self.rankCorrelation(run, score: Self.probeScore("probe_divergence", sign: -1))
        return [run.name, "\(run.epochsDone)", best] + picks + [number(agreement) + " / " + number(divergence)]
    }

    /// Per rule: the mean and the worst gap over the runs where it kept a student.
    var totals: [(rule: String, runs: Int, mean: Double, worst: Double)] {
        Self.rules.compactMap { rule in
            let gaps = runs.compactMap { gap(rule, in: $0)?.gap }
            guard let mean = SeedTable.mean(gaps), let worst = gaps.max() else { return nil }
            return (rule, gaps.count, mean, worst)
        }
    }

    var markdown: String {
        guard !runs.isEmpty else { return "" }
        var lines = ["## The data-free pick against the best epoch", "",
                     "Real top-1 of the student each rule kept, and its gap to the best epoch's; Spearman: how the epoch's score on the "
                     + "probe bank ranks the epochs against their real top-1.", "",
                     MarkdownTable.line(header), MarkdownTable.rule(header.count)]
        lines += runs.map(row).map(MarkdownTable.line)
        lines.append("")
        lines += totals.map { "\($0.rule): gap to the best epoch, " + String(format: "mean %.2f, worst %.2f over %d run(s).", $0.mean, $0.worst, $0.runs) }
        return lines.joined(separator: "\n") + "\n"
    }
}
