import Foundation
import TensorEngine
import Yams

/// YAML read with limits, so that a hostile or broken file is an error instead of a run
/// that fills memory (a "billion laughs" of nested aliases expands exponentially) or
/// overflows the stack (the composer recurses once per level of nesting).
enum BoundedYAML {
    /// Settings files are a few kilobytes; a megabyte is far beyond any real one.
    static let maximumBytes = 1 << 20
    /// Nodes after aliases are expanded.
    static let maximumNodes = 100_000
    static let maximumDepth = 64

    /// The text of the file at `path`, refused beyond `maximumBytes` before it is read whole.
    static func read(_ path: String) throws -> String {
        do { try InputFile.requireRegular(path, expected: "a YAML settings file") } catch { throw CommandError("\(error)") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CommandError("\(path): cannot be read (\(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"))")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maximumBytes + 1)) ?? Data()
        guard data.count <= maximumBytes else { throw CommandError("\(path): larger than \(maximumBytes) bytes; not a settings file") }
        guard let text = String(data: data, encoding: .utf8) else { throw CommandError("\(path): not UTF-8 text") }
        return text
    }

    /// The value `text` holds (nil for an empty document); `name` is the file in errors.
    static func load(_ text: String, name: String) throws -> Any? {
        try compose(text, name: name).map { Constructor.default.any(from: $0) }
    }

    /// The document's node tree, which keeps the order of every mapping's keys.
    static func compose(_ text: String, name: String) throws -> Node? {
        guard text.utf8.count <= maximumBytes else { throw CommandError("\(name): larger than \(maximumBytes) bytes; not a settings file") }
        let depth = nestingBound(text)
        guard depth <= maximumDepth else {
            throw CommandError("\(name): nested up to \(depth) levels deep, more than the \(maximumDepth) a settings file may have")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw CommandError("\(name): not valid YAML: \(error)") }
        guard let node else { return nil }
        var budget = maximumNodes
        guard fits(node, within: &budget) else {
            throw CommandError("\(name): holds more than \(maximumNodes) values (aliases expanded); not a settings file")
        }
        // YAML's own readers keep the last of two equal keys: a setting would silently lose its first value.
        if let twice = firstKeyGivenTwice(in: node) {
            let lines = [twice.first, twice.second].compactMap { $0 }.map(String.init).joined(separator: " and ")
            throw CommandError("\(name): \(twice.key) is given twice\(lines.isEmpty ? "" : " (lines \(lines))"); give it once")
        }
        return node
    }

    /// The first key that one mapping of `node` holds twice, and the lines of both.
    private static func firstKeyGivenTwice(in node: Node) -> (key: String, first: Int?, second: Int?)? {
        switch node {
        case .scalar:
            return nil
        case .sequence(let sequence):
            return sequence.lazy.compactMap(firstKeyGivenTwice).first
        case .mapping(let mapping):
            var seen: [String: Int?] = [:]
            for (key, value) in mapping {
                if let name = key.string {
                    if let line = seen[name] { return (name, line, key.mark?.line) }
                    seen[name] = key.mark?.line
                }
                if let found = firstKeyGivenTwice(in: value) { return found }
            }
            return nil
        }
    }

    /// Counts `node`'s values with aliases expanded, stopping as soon as `budget` runs out:
    /// the walk costs at most `maximumNodes` steps however far the aliases would expand.
    private static func fits(_ node: Node, within budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0 else { return false }
        switch node {
        case .scalar: return true
        case .sequence(let sequence): return sequence.allSatisfy { fits($0, within: &budget) }
        case .mapping(let mapping): return mapping.allSatisfy { fits($0.key, within: &budget) && fits($0.value, within: &budget) }
        }
    }

    /// An upper bound of the nesting depth, found without parsing: a line's block nesting is
    /// at most its indentation plus its leading "- " and "? " indicators, and flow
    /// collections add one level per open bracket. Quoted text and comments do not count;
    /// every line break YAML knows (LF, CR, NEL, LS, PS) starts a line.
    static func nestingBound(_ text: String) -> Int {
        let bytes = Array(text.utf8)
        let space = UInt8(ascii: " ")
        var deepest = 0, flowDepth = 0, index = 0
        func lineBreak(at i: Int) -> Int {
            switch bytes[i] {
            case 0x0A, 0x0D: return 1
            case 0xC2 where i + 1 < bytes.count && bytes[i + 1] == 0x85: return 2
            case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9): return 3
            default: return 0
            }
        }
        while index < bytes.count {
            var block = 0
            while index < bytes.count, bytes[index] == space { block += 1; index += 1 }
            while index + 1 < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "?"), bytes[index + 1] == space {
                block += 1
                index += 2
                while index < bytes.count, bytes[index] == space { index += 1 }
            }
            var quote: UInt8?, previous = space, linePeak = flowDepth
            while index < bytes.count {
                let breakLength = lineBreak(at: index)
                if breakLength > 0 { index += breakLength; break }
                let byte = bytes[index]
                if let open = quote {
                    if byte == UInt8(ascii: "\\") && open == UInt8(ascii: "\"") { index += 1 } else if byte == open { quote = nil }
                } else {
                    // A quote opens a scalar only where a scalar starts; inside one (don't) it is text.
                    let scalarStart = [space, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":")].contains(previous)
                    switch byte {
                    case UInt8(ascii: "'") where scalarStart: quote = byte
                    case UInt8(ascii: "\"") where scalarStart: quote = byte
                    case UInt8(ascii: "#") where previous == space: while index < bytes.count, lineBreak(at: index) == 0 { index += 1 }; continue
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        flowDepth += 1
                        linePeak = max(linePeak, flowDepth)
                    case UInt8(ascii: "]"), UInt8(ascii: "}"): flowDepth = max(0, flowDepth - 1)
                    default: break
                    }
                }
                previous = byte == 0x09 ? space : byte
                index += 1
            }
            deepest = max(deepest, block + linePeak + 1)
        }
        return deepest
    }
}
