import Foundation

/// One run of a sweep: its name, the grid values that name it, and the arguments of its
/// `dfkd distill` (without the `--resume DIR` each start adds).
struct SweepRun {
    let name: String
    /// (axis, value as the name shows it), in the grid's order.
    let labels: [(axis: String, label: String)]
    /// Options of the command line, paths made absolute.
    let options: [String]
    /// Settings of the run's own config file (layered last), as JSON text (JSON is YAML);
    /// nil when the sweep sets none.
    let settings: String?

    /// `name` empty (a sweep without a grid) names the run "run".
    init(name: String, labels: [(String, String)], values: [String: Any], base: String, file: String) throws {
        self.labels = labels.map { (axis: $0.0, label: $0.1) }
        self.name = name.isEmpty ? "run" : name
        var options: [String] = []
        var settings: [String: Any] = [:]
        for key in values.keys.sorted() {
            let value = values[key]!
            let resolved = SweepPlan.pathOptions.contains(key) ? try SweepPlan.list(value).map { try Self.absolute($0, base: base, file: file, key: key) } as Any : value
            if SweepPlan.commandOptions.contains(key) {
                for item in SweepPlan.list(resolved) { options += ["--" + key, "\(item)"] }
            } else {
                settings[key] = resolved
            }
        }
        self.options = options
        self.settings = settings.isEmpty ? nil
            : String(decoding: try JSONSerialization.data(withJSONObject: settings, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]),
                     as: UTF8.self) + "\n"
    }

    /// The config files the run layers before its own settings, in order.
    var configFiles: [String] { stride(from: 0, to: options.count, by: 2).filter { options[$0] == "--config" }.map { options[$0 + 1] } }

    /// The arguments of the run's `dfkd distill`, its own config file at `directory`'s last.
    func arguments(in directory: SweepRunDirectory) -> [String] {
        options + (settings == nil ? [] : ["--config", directory.settings])
    }

    private static func absolute(_ value: Any, base: String, file: String, key: String) throws -> String {
        guard let path = value as? String, !path.isEmpty else { throw CommandError("\(file): \(key) is '\(value)', expected a path") }
        return path.hasPrefix("/") ? path : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
    }

    /// How a value shows in a run's name: a config file by its name without ".yaml", a
    /// list by its items joined with "+", a number or text as written; characters a file
    /// name should not hold become "-".
    static func label(of value: Any, key: String) -> String {
        if let list = value as? [Any] { return list.map { label(of: $0, key: key) }.joined(separator: "+") }
        var text = "\(value)"
        if SweepPlan.pathOptions.contains(key) { text = URL(fileURLWithPath: text).deletingPathExtension().lastPathComponent }
        if let flag = value as? Bool { text = flag ? "on" : "off" }
        return String(text.map { isSafe($0) ? $0 : "-" })
    }

    private static func isSafe(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "._+-".contains(character))
    }

    static func isSafeName(_ name: String) -> Bool { !name.isEmpty && !name.hasPrefix(".") && name.allSatisfy { isSafe($0) || $0 == "_" } }
}
