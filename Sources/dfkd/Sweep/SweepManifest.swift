import Foundation
import Storage

/// What the summary needs of a sweep's plan, kept in its directory: the grid's axes and
/// each run's name and grid values, in the plan's order.
struct SweepManifest {
    let name: String
    let axes: [String]
    let runs: [(name: String, labels: [String: String])]

    init(plan: SweepPlan) {
        name = plan.name
        axes = plan.axes
        runs = plan.runs.map { run in (run.name, Dictionary(uniqueKeysWithValues: run.labels.map { ($0.axis, $0.label) })) }
    }

    init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let name = object["name"] as? String, let axes = object["axes"] as? [String],
              let runs = object["runs"] as? [[String: Any]] else {
            throw CommandError("\(file): not a sweep's plan (expected JSON with name, axes and runs)")
        }
        self.name = name
        self.axes = axes
        self.runs = try runs.map { run in
            guard let name = run["name"] as? String, SweepRun.isSafeName(name), let labels = run["labels"] as? [String: String] else {
                throw CommandError("\(file): a run without a name or labels")
            }
            return (name, labels)
        }
    }

    func write(to file: String) throws {
        let object: [String: Any] = ["name": name, "axes": axes, "runs": runs.map { ["name": $0.name, "labels": $0.labels] }]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        try AtomicFile.write(file) { temporary in try data.write(to: URL(fileURLWithPath: temporary)) }
    }
}
