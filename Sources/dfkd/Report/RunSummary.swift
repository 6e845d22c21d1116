import Foundation
import Training

/// What the summary shows of one run directory: its state, its accuracies by epoch and wall
/// time, its loss terms and its last sample grid, read from the files the run wrote.
struct RunSummary {
    /// Its name and grid values as the summary shows them (a summary of several sweeps names
    /// each run by its sweep too).
    var name: String
    let directory: String
    /// The run's grid values (axis -> value), empty for a run outside a sweep.
    var labels: [String: String]
    let state: String
    /// The metrics lines, in epoch order.
    let epochs: [[String: Any]]
    let plannedEpochs: Int?
    /// Each epoch's student top-1 on the real evaluation images, in epoch order (none for a
    /// run without real data).
    let accuracies: [(epoch: Int, top1: Double)]
    private let accuracyByEpoch: [Int: Double]
    /// The newest sample grid, a PNG file.
    let lastGrid: String?

    init(name: String, directory: String, labels: [String: String] = [:]) {
        (self.name, self.directory, self.labels) = (name, directory, labels)
        let outputs = RunDirectory(directory)
        let text = (try? String(contentsOfFile: outputs.metrics, encoding: .utf8)) ?? ""
        epochs = text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }.filter { $0["epoch"] is Int }
        plannedEpochs = epochs.last?["planned_epochs"] as? Int
        accuracies = epochs.compactMap { line in
            guard let epoch = line["epoch"] as? Int, let top1 = (line["student_top1"] as? NSNumber)?.doubleValue, top1.isFinite else { return nil }
            return (epoch, top1)
        }
        accuracyByEpoch = Dictionary(accuracies.map { ($0.epoch, $0.top1) }) { _, later in later }
        let grids = ((try? FileManager.default.contentsOfDirectory(atPath: outputs.grids)) ?? [])
            .filter { $0.hasPrefix("epoch-") && $0.hasSuffix(".png") }.sorted()
        lastGrid = grids.last.map { outputs.grids + "/" + $0 }
        let recorded = SweepRunDirectory(path: directory).state
        if recorded != .pending {
            state = recorded.word
        } else if let done = epochs.last?["epoch"] as? Int, let plannedEpochs {
            // A run outside a sweep has no status file: its metrics say how far it came.
            state = done >= plannedEpochs ? "finished" : "stopped"
        } else {
            state = "pending"
        }
    }

    /// The run's distill arguments as a sweep gave them, one line; empty outside a sweep.
    var arguments: String {
        ((try? String(contentsOfFile: SweepRunDirectory(path: directory).arguments, encoding: .utf8)) ?? "")
            .split(separator: "\n").joined(separator: " ")
    }

    private func last(_ key: String) -> Double? { (epochs.last?[key] as? NSNumber)?.doubleValue }

    var epochsDone: Int { epochs.last?["epoch"] as? Int ?? 0 }
    /// The kept student's (student.h5, chosen without real images), else the last epoch's.
    var studentTop1: Double? { last("picked_student_top1") ?? last("student_top1") }
    var teacherTop1: Double? { last("teacher_top1") }
    var restoredRatio: Double? {
        guard let student = last("picked_student_top1"), let teacher = teacherTop1 else { return last("restored_ratio") }
        return 100 * student / teacher
    }
    var wallSeconds: Double? { last("wall_seconds") }
    /// The best epoch's student top-1 and the epoch.
    var best: (top1: Double, epoch: Int)? { accuracies.max { $0.top1 < $1.top1 }.map { ($0.top1, $0.epoch) } }

    /// The last epoch's student top-1 (student-last.h5), whichever the run kept.
    var lastTop1: Double? { last("student_top1") }


    /// The mean and the variance (over epochs, divided by their count) of the student's top-1
    /// over the second half of the epochs done: the later epochs, those past half the last
    /// epoch's number. How steady training is once it should have settled, beside the one
    /// figure a pick reports.
    var secondHalf: (mean: Double, variance: Double)? {
        let later = accuracies.filter { 2 * $0.epoch > epochsDone }.map(\.top1)
        guard !later.isEmpty else { return nil }
        let mean = later.reduce(0, +) / Double(later.count)
        return (mean, later.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(later.count))
    }

    /// The epoch each data-free rule kept: `last` always, the others as the run's
    /// `selection-study` measured them (0: the rule kept none yet).
    var picksByRule: [String: Int] {
        var picks = (epochs.last?["picked_epoch_by_rule"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
        if epochsDone > 0 { picks["last"] = epochsDone }
        return picks.filter { $0.value > 0 }
    }

    /// The real top-1 of epoch `epoch`'s student.
    func top1(atEpoch epoch: Int) -> Double? { accuracyByEpoch[epoch] }

    /// How many points of top-1 the kept student is under the best epoch's.
    var pickGap: Double? {
        guard let best, let picked = studentTop1 else { return nil }
        return best.top1 - picked
    }

    /// The keys of the metrics lines that are loss terms (and the figures drawn beside them).
    var lossTerms: [String] {
        let others: Set = ["epoch", "student_top1", "teacher_top1", "restored_ratio", "planned_epochs", "wall_seconds", "picked_epoch",
                           "picked_student_top1", "generator_collapsed"]
        // The probe's per-class figures and the picks are arrays, tables and epochs, no curves.
        let numbers = Set(epochs.flatMap { line in line.filter { $0.value is NSNumber }.keys })
        return numbers.filter { !others.contains($0) && !$0.hasSuffix("_lr") && !$0.hasPrefix("probe_") && !$0.hasPrefix("picked_") }.sorted()
    }
}
