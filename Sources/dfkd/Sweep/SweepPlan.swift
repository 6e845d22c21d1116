import Foundation
import Yams

/// A sweep file expanded into its runs: every combination of the grid's values over the
/// options every run shares, each run named by its grid values alone, so that a name (and
/// the run's directory) stays the same however often the file is expanded.
///
///     name: table5-builtin        # default: the file's name
///     ranks: 1                    # ranks of each run (default 1)
///     threads: 1                  # threads of each rank (default 1)
///     slurm: {max-parallel: 2, options: ["--time=00:30:00"]}
///     options:                    # every run's: distill's options and any setting
///       teacher: runs/builtin/teacher.h5
///       config: configs/cpsc.yaml
///     grid:                       # every combination; the first axis varies slowest
///       config: [configs/ablations/table5-1-batch-norm.yaml, ...]
///       seed: [1, 2, 3]
///       pair:                     # a list of mappings sets several keys together
///         - {name: lenet, teacher: t1.h5, student: lenet5-half}
struct SweepPlan {
    let name: String
    let ranks: Int
    let threads: Int
    let maxParallel: Int?
    let sbatchOptions: [String]
    /// The grid's axes in order: the columns of the summary.
    let axes: [String]
    let runs: [SweepRun]

    static let topKeys = ["name", "ranks", "threads", "slurm", "options", "grid"]
    static let slurmKeys = ["max-parallel", "options"]
    /// Options of `dfkd distill` a sweep may set; every other key is a setting of the
    /// run's configuration (a key of its config files).
    static let commandOptions = ["teacher", "student", "config", "minutes", "grid-every", "checkpoint-every",
                                 "checkpoint-minutes", "keep-checkpoints", "save-samples"]
    /// Options whose values are paths, made absolute so a run finds them from anywhere.
    static let pathOptions: Set = ["teacher", "config", "data-dir"]

    /// Reads the sweep file at `path`; relative paths in it are taken from `base`
    /// (the directory the command runs in, as on a command line).
    init(path: String, base: String = FileManager.default.currentDirectoryPath) throws {
        let node = try BoundedYAML.compose(try BoundedYAML.read(path), name: path)
        guard let node, let top = Constructor.default.any(from: node) as? [String: Any] else {
            throw CommandError("\(path): expected a mapping with 'options' and 'grid' at the top level")
        }
        try Self.requireKnown(top, allowed: Self.topKeys, in: path, at: "the top level")
        let defaultName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        name = try Self.string(top["name"], path, "name") ?? defaultName
        guard SweepRun.isSafeName(name) else { throw CommandError("\(path): name '\(name)' may hold only letters, digits and . _ + -") }
        ranks = try Self.count(top["ranks"], path, "ranks") ?? 1
        threads = try Self.count(top["threads"], path, "threads") ?? 1
        let slurm = try (top["slurm"]).map { value -> [String: Any] in
            guard let mapping = value as? [String: Any] else { throw CommandError("\(path): slurm: expected a mapping (max-parallel, options)") }
            try Self.requireKnown(mapping, allowed: Self.slurmKeys, in: path, at: "slurm")
            return mapping
        } ?? [:]
        maxParallel = try Self.count(slurm["max-parallel"], path, "slurm: max-parallel")
        guard let options = (slurm["options"] ?? [String]()) as? [Any], options.allSatisfy({ $0 is String }) else {
            throw CommandError("\(path): slurm: options: expected a list of sbatch options such as \"--time=01:00:00\"")
        }
        sbatchOptions = options as! [String]

        let shared = try (top["options"] ?? [String: Any]()) as? [String: Any] ?? { throw CommandError("\(path): options: expected a mapping of option names to values") }()
        try Self.requireKnown(shared, allowed: Self.keys, in: path, at: "options")
        // The axes in the file's order, which the mapping Yams constructs does not keep.
        let order = node.mapping?["grid"]?.mapping?.keys.compactMap(\.string) ?? []
        let grid = try Self.axes(top["grid"], order: order, path)
        axes = grid.map(\.name)
        var expanded: [SweepRun] = []
        for combination in Self.combinations(of: grid.map(\.values)) {
            var values = shared
            var labels: [(String, String)] = [], nameParts: [String] = []
            for (axis, choice) in zip(grid, combination) {
                for (key, value) in choice.values {
                    // A grid's config files are layered over the shared ones (an ablation over its method).
                    values[key] = key == "config" ? Self.list(values[key]) + Self.list(value) : value
                }
                labels.append((axis.name, choice.label))
                nameParts.append(choice.namePart)
            }
            expanded.append(try SweepRun(name: nameParts.joined(separator: "_"), labels: labels, values: values, base: base, file: path))
        }
        // A run's name is a directory's: never a path out of runs/.
        if let unsafe = expanded.first(where: { !SweepRun.isSafeName($0.name) }) {
            throw CommandError("\(path): the run name '\(unsafe.name)' may hold only letters, digits and . _ + - (a mapping value's 'name')")
        }
        let names = Dictionary(grouping: expanded, by: \.name).filter { $0.value.count > 1 }.keys.sorted()
        guard names.isEmpty else {
            throw CommandError("\(path): several runs are named \(names.joined(separator: ", ")): the grid's values must name the runs "
                               + "apart (give a mapping value a 'name')")
        }
        runs = expanded
    }

    /// Every key a sweep may set: the command's options and every setting of a config file.
    static var keys: [String] { commandOptions + DistillationSettings.fileKeys }

    /// One value of an axis: what it sets, how the summary shows it and how the run's name does.
    struct Choice { let label: String; let namePart: String; let values: [String: Any] }

    /// The grid's axes, in `order`.
    private static func axes(_ value: Any?, order: [String], _ path: String) throws -> [(name: String, values: [Choice])] {
        guard let value else { return [] }
        guard let grid = value as? [String: Any] else { throw CommandError("\(path): grid: expected a mapping of axes to lists of values") }
        return try order.map { axis in
            guard let values = grid[axis] as? [Any], !values.isEmpty else {
                throw CommandError("\(path): grid: \(axis): expected a list of values")
            }
            return (axis, try values.map { try choice(axis: axis, $0, path) })
        }
    }

    private static func choice(axis: String, _ value: Any, _ path: String) throws -> Choice {
        if var mapping = value as? [String: Any] {
            let label = try string(mapping.removeValue(forKey: "name"), path, "grid: \(axis): name")
            try requireKnown(mapping, allowed: keys, in: path, at: "grid: \(axis)")
            let shown = mapping.keys.sorted().map { key in SweepRun.label(of: mapping[key]!, key: key) }.joined(separator: "-")
            return Choice(label: label ?? shown, namePart: label ?? shown, values: mapping)
        }
        guard keys.contains(axis) else {
            throw CommandError("\(path): grid: \(axis) is not an option or a setting; an axis of another name lists mappings "
                               + "(such as {teacher: T.h5, student: S})")
        }
        let label = SweepRun.label(of: value, key: axis)
        // A config file's name says what it is; other values need their axis ("seed-1").
        return Choice(label: label, namePart: axis == "config" ? label : axis + "-" + label, values: [axis: value])
    }

    private static func combinations(of axes: [[Choice]]) -> [[Choice]] {
        axes.reduce([[]]) { partial, axis in partial.flatMap { prefix in axis.map { prefix + [$0] } } }
    }

    static func list(_ value: Any?) -> [Any] {
        guard let value else { return [] }
        return value as? [Any] ?? [value]
    }

    private static func requireKnown(_ mapping: [String: Any], allowed: [String], in path: String, at place: String) throws {
        let unknown = mapping.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw CommandError("\(path): \(place): unknown key\(unknown.count > 1 ? "s" : "") \(unknown.joined(separator: ", ")); expected some of: "
                               + allowed.joined(separator: ", "))
        }
    }

    private static func string(_ value: Any?, _ path: String, _ key: String) throws -> String? {
        guard let value else { return nil }
        guard let text = value as? String else { throw CommandError("\(path): \(key) is '\(value)', expected text") }
        return text
    }

    private static func count(_ value: Any?, _ path: String, _ key: String) throws -> Int? {
        guard let value else { return nil }
        guard let number = value as? Int, (1...100_000).contains(number) else { throw CommandError("\(path): \(key) is '\(value)', expected a positive integer") }
        return number
    }
}
