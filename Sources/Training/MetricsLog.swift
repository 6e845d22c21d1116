import Foundation

/// Metrics as JSON lines: one object per line, appended and flushed as each is logged, so a
/// run that dies keeps every line it wrote.
public final class MetricsLog {
    private let handle: FileHandle?
    public let path: String?

    /// Logs to `path` (created or truncated); nil logs nowhere.
    public init(path: String?) throws {
        self.path = path
        guard let path else { handle = nil; return }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        self.handle = handle
    }

    public func log(_ fields: [String: Any]) {
        guard let handle else { return }
        handle.write(Data((MetricsLog.jsonLine(fields) + "\n").utf8))
    }

    /// One JSON object, keys sorted; non-finite numbers become null (JSON has no NaN).
    public static func jsonLine(_ fields: [String: Any]) -> String {
        let cleaned = fields.mapValues { value -> Any in
            if let number = value as? Double, !number.isFinite { return NSNull() }
            if let numbers = value as? [Double] { return numbers.map { $0.isFinite ? $0 as Any : NSNull() } }
            return value
        }
        let data = try! JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
