import Foundation
import Storage

/// Metrics as JSON lines: one object per line, appended and flushed as each is logged, so a
/// run that dies keeps every line it wrote. The file is left alone until the run has a
/// first line to write: a run that fails at its start keeps the previous run's metrics.
public final class MetricsLog {
    private var handle: FileHandle?
    public let path: String?
    /// The lines the first write starts the file with: none for a new run, the kept lines
    /// of the run a resumed one continues.
    private var kept: String?

    /// Lines of the kept file that were not metrics lines (1-based), dropped: a line cut
    /// short by a kill, or one edited by hand.
    public private(set) var damagedLines: [Int] = []

    /// Logs to `path` (replaced at the first line); nil logs nowhere. With `continuingAfter`
    /// the file instead keeps its lines of epochs up to that one (a resumed run's
    /// checkpoint) and continues after them, so no epoch is missing or listed twice.
    public init(path: String?, continuingAfter epoch: Int? = nil) {
        self.path = path
        guard let path else { return }
        guard let epoch else { kept = ""; return }
        (kept, damagedLines) = Self.lines(of: path, throughEpoch: epoch)
    }

    /// What a resumed run says of the damaged lines it dropped; nil when there are none.
    public var damageWarning: String? {
        guard let path, !damagedLines.isEmpty else { return nil }
        let shown = damagedLines.prefix(10).map(String.init).joined(separator: ", ") + (damagedLines.count > 10 ? ", ..." : "")
        return "warning: \(path): dropped \(damagedLines.count) damaged line(s) (line \(shown)), each not a JSON object with an "
            + "integer \"epoch\" (a line cut short by a kill, or edited by hand)"
    }

    /// The lines of `path` whose epoch is at most `epoch`, and the numbers of the lines that
    /// are not metrics lines; a line of a later epoch (after the checkpoint) is dropped too.
    private static func lines(of path: String, throughEpoch epoch: Int) -> (kept: String, damaged: [Int]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return ("", []) }
        var kept = "", damaged: [Int] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            let fields = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard let lineEpoch = fields?["epoch"] as? Int else {
                damaged.append(index + 1)
                continue
            }
            if lineEpoch <= epoch { kept += line + "\n" }
        }
        return (kept, damaged)
    }

    /// Appends one line; a failed write (a full disk) is an error naming the file.
    public func log(_ fields: [String: Any]) throws {
        guard let path else { return }
        let line = MetricsLog.jsonLine(fields) + "\n"
        if let kept {
            // The first line replaces the file whole, so a reader never sees it half rewritten.
            try AtomicFile.write(path) { temporary in try Data((kept + line).utf8).write(to: URL(fileURLWithPath: temporary)) }
            self.kept = nil
            guard let opened = FileHandle(forWritingAtPath: path) else {
                throw StorageError(file: path, "cannot be opened to append: \(String(cString: strerror(errno)))")
            }
            opened.seekToEndOfFile()
            handle = opened
            return
        }
        do { try handle?.write(contentsOf: Data(line.utf8)) } catch {
            throw StorageError(file: path, "a metrics line was not written: \(error.localizedDescription)")
        }
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
