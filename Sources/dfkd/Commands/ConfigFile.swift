import Foundation

/// YAML files of option values (`epochs: 30`, `lr: 0.001`, ...), keyed by the long option
/// names without dashes. Options given on the command line win over the files, a later file
/// wins over an earlier one (a method's file, then an ablation's), and the files win over
/// the defaults. Unknown keys are errors, so a typo does not silently do nothing.
struct ConfigFile {
    private var values: [String: (value: Any, path: String)] = [:]
    /// The keys whose values are mappings of settings for a case (`teacher-without-batch-norm`).
    private let sectionKeys: Set<String>
    /// Each section's settings merged key by key over the layers: a layer's section sets its
    /// keys over the earlier layers', and a later layer's own setting of a key takes it out
    /// of every section, so that later files win over a case's settings as over the rest.
    private var sections: [String: [String: (value: Any, path: String)]] = [:]

    init(path: String?, allowedKeys: [String]) throws {
        try self.init(paths: path.map { [$0] } ?? [], allowedKeys: allowedKeys)
    }

    init(paths: [String], allowedKeys: [String]) throws {
        try self.init(texts: paths.map(Self.read), allowedKeys: allowedKeys)
    }

    /// The file at `path` as a named text for `init(texts:allowedKeys:)`.
    static func read(_ path: String) throws -> (name: String, text: String) {
        (path, try BoundedYAML.read(path))
    }

    /// Layers YAML texts, each named (a file's path) for error messages; later ones win.
    /// `sections` are the allowed keys whose values are mappings of settings (`section(_:allowedKeys:)`).
    init(texts: [(name: String, text: String)], allowedKeys: [String], sections: [String] = []) throws {
        sectionKeys = Set(sections)
        for (path, text) in texts {
            let parsed = try BoundedYAML.load(text, name: path)
            guard let mapping = (parsed ?? [String: Any]()) as? [String: Any] else {
                throw CommandError("\(path): expected a mapping of option names to values at the top level")
            }
            try layer(mapping, name: path, allowedKeys: allowedKeys)
        }
    }

    /// Section `key`'s settings as a file of their own, each named "FILE: key", their keys
    /// among `allowedKeys`; nil when no layer sets any.
    func section(_ key: String, allowedKeys: [String]) throws -> ConfigFile? {
        guard let settings = sections[key], !settings.isEmpty else { return nil }
        var section = try ConfigFile(texts: [], allowedKeys: [])
        for (name, setting) in settings {
            guard allowedKeys.contains(name) else {
                throw CommandError("\(setting.path): unknown key \(name); expected some of: \(allowedKeys.joined(separator: ", "))")
            }
            section.values[name] = setting
        }
        section.names = Array(Set(settings.values.map(\.path))).sorted()
        return section
    }

    private mutating func layer(_ mapping: [String: Any], name path: String, allowedKeys: [String]) throws {
        names.append(path)
        let unknown = mapping.keys.filter { !allowedKeys.contains($0) }.sorted()
        guard unknown.isEmpty else {
            // A few names are enough to find a typo; a file of thousands would bury the message.
            let shown = unknown.prefix(5).map { $0.count > 40 ? $0.prefix(40) + "..." : $0 }.joined(separator: ", ")
            let more = unknown.count > 5 ? " and \(unknown.count - 5) more" : ""
            throw CommandError("\(path): unknown key\(unknown.count > 1 ? "s" : "") \(shown)\(more); expected some of: \(allowedKeys.joined(separator: ", "))")
        }
        for (key, value) in mapping where !sectionKeys.contains(key) {
            values[key] = (value, path)
            for section in sections.keys { sections[section]?[key] = nil }
        }
        // A layer's section wins over the same layer's own settings.
        for (key, value) in mapping where sectionKeys.contains(key) {
            guard let settings = value as? [String: Any] else { throw CommandError("\(path): \(key) is '\(value)', expected a mapping of settings") }
            for (name, setting) in settings { sections[key, default: [:]][name] = (setting, "\(path): \(key)") }
        }
    }

    /// The names of the texts layered, in order (files' paths), for error messages.
    private(set) var names: [String] = []

    /// The file `key` was read from, for error messages.
    func path(of key: String) -> String { values[key]?.path ?? "" }

    /// The keys the file sets.
    var keys: [String] { values.keys.sorted() }

    func string(_ key: String) throws -> String? {
        guard let value = values[key]?.value else { return nil }
        return "\(value)"
    }

    func int(_ key: String) throws -> Int? {
        guard let (value, path) = values[key] else { return nil }
        guard let number = value as? Int else { throw CommandError("\(path): \(key) is '\(value)', expected an integer") }
        return number
    }

    func double(_ key: String) throws -> Double? {
        guard let (value, path) = values[key] else { return nil }
        if let number = value as? Double { return number }
        if let number = value as? Int { return Double(number) }
        throw CommandError("\(path): \(key) is '\(value)', expected a number")
    }

    func bool(_ key: String) throws -> Bool? {
        guard let (value, path) = values[key] else { return nil }
        guard let flag = value as? Bool else { throw CommandError("\(path): \(key) is '\(value)', expected true or false") }
        return flag
    }

    func ints(_ key: String) throws -> [Int]? {
        guard let (value, path) = values[key] else { return nil }
        guard let list = value as? [Int] else { throw CommandError("\(path): \(key) is '\(value)', expected a list of integers") }
        return list
    }

    func doubles(_ key: String) throws -> [Double]? {
        guard let (value, path) = values[key] else { return nil }
        let numbers = (value as? [Any])?.compactMap { ($0 as? Double) ?? ($0 as? Int).map(Double.init) }
        guard let numbers, numbers.count == (value as? [Any])?.count else {
            throw CommandError("\(path): \(key) is '\(value)', expected a list of numbers")
        }
        return numbers
    }
}

/// A user error: printed as the message alone, exit status 1.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
