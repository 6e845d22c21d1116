import Foundation
import Storage

/// Metrics as JSON lines: one object per line, appended and flushed as each is logged, so a
/// run that dies keeps every line it wrote.
public final class MetricsLog {
    private let handle: FileHandle?
    public let path: String?

    /// Logs to `path` (created or truncated); nil logs nowhere. With `continuingAfter` the
    /// file instead keeps its lines of epochs up to that one (a resumed run's checkpoint)
    /// and continues after them, so no epoch is missing or listed twice.
    public init(path: String?, continuingAfter epoch: Int? = nil) throws {
        self.path = path
        guard let path else { handle = nil; return }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try Directories.create(directory) }
        let kept = try epoch.map { try Self.lines(of: path, throughEpoch: $0) } ?? ""
        guard FileManager.default.createFile(atPath: path, contents: Data(kept.utf8)), let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    /// The lines of `path` whose epoch is at most `epoch`; a line cut short by a kill, or of
    /// a later epoch, is dropped.
    private static func lines(of path: String, throughEpoch epoch: Int) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").filter { line in
            let fields = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (fields?["epoch"] as? Int).map { $0 <= epoch } ?? false
        }.map { $0 + "\n" }.joined()
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
