import Foundation

/// An ordered tree of values that `dfkd inspect` prints as indented text or as JSON, in the
/// same order either way.
indirect enum Report: Sendable {
    case text(String)
    case integer(Int)
    case number(Double)
    case flag(Bool)
    case list([Report])
    case fields([(String, Report)])

    static func texts(_ values: [String]) -> Report { .list(values.map { .text($0) }) }
    static func integers(_ values: [Int]) -> Report { .list(values.map { .integer($0) }) }

    /// Compact JSON; non-finite numbers are null.
    var json: String {
        switch self {
        case .text(let text): return Self.quoted(text)
        case .integer(let value): return "\(value)"
        case .number(let value): return value.isFinite ? "\(value)" : "null"
        case .flag(let value): return value ? "true" : "false"
        case .list(let values): return "[" + values.map { $0.json }.joined(separator: ",") + "]"
        case .fields(let fields): return "{" + fields.map { Self.quoted($0.0) + ":" + $0.1.json }.joined(separator: ",") + "}"
        }
    }

    /// Lines of "key: value" indented by `depth`; lists of plain values on one line.
    func lines(depth: Int = 0) -> [String] {
        let indent = String(repeating: "  ", count: depth)
        switch self {
        case .fields(let fields):
            return fields.flatMap { key, value -> [String] in
                if let inline = value.inline { return ["\(indent)\(key): \(inline)"] }
                return ["\(indent)\(key):"] + value.lines(depth: depth + 1)
            }
        case .list(let values):
            return values.flatMap { value -> [String] in
                if let inline = value.inline ?? value.inlineFields { return ["\(indent)- \(inline)"] }
                return value.lines(depth: depth + 1)
            }
        default: return [indent + (inline ?? "")]
        }
    }

    /// Fields of plain values on one line, "key: value, key: value".
    private var inlineFields: String? {
        guard case .fields(let fields) = self else { return nil }
        let parts = fields.compactMap { key, value in value.inline.map { "\(key): \($0)" } }
        return parts.count == fields.count ? parts.joined(separator: ", ") : nil
    }

    /// The value on one line, nil for nested fields.
    private var inline: String? {
        switch self {
        case .text(let text): return text.contains("\n") ? Self.quoted(text) : text
        case .integer(let value): return "\(value)"
        case .number(let value): return String(format: "%.6g", value)
        case .flag(let value): return value ? "yes" : "no"
        case .list(let values):
            let parts = values.compactMap { $0.inline }
            return parts.count == values.count && values.allSatisfy({ if case .fields = $0 { false } else { true } })
                ? "[" + parts.joined(separator: ", ") + "]" : nil
        case .fields: return nil
        }
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
