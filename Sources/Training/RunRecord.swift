import Foundation
import Storage
import TensorEngine

/// A distillation run as its first invocation resolved it, written to `DIR/run.json` before
/// the first step: what identifies the run (its checkpoints must agree with it) and the
/// options that shape its outputs. `--resume DIR` alone continues from it, a run killed
/// before its first checkpoint too (it starts again from the record), and the output options
/// carry over a resume unless given again. Rewritten by every invocation with the output
/// options it ran with.
public struct RunRecord: Codable, Equatable, Sendable {
    /// The options that shape a run's outputs rather than its training.
    public struct Outputs: Codable, Equatable, Sendable {
        public var minutes: Double?
        public var gridEvery: Int
        public var checkpointEvery: Int
        public var checkpointMinutes: Double
        public var keepCheckpoints: Int
        public var saveSamples: Int

        public init(minutes: Double?, gridEvery: Int, checkpointEvery: Int, checkpointMinutes: Double, keepCheckpoints: Int, saveSamples: Int) {
            (self.minutes, self.gridEvery, self.checkpointEvery) = (minutes, gridEvery, checkpointEvery)
            (self.checkpointMinutes, self.keepCheckpoints, self.saveSamples) = (checkpointMinutes, keepCheckpoints, saveSamples)
        }

        // The command line's option names.
        enum CodingKeys: String, CodingKey {
            case minutes, gridEvery = "grid-every", checkpointEvery = "checkpoint-every", checkpointMinutes = "checkpoint-minutes"
            case keepCheckpoints = "keep-checkpoints", saveSamples = "save-samples"
        }
    }

    /// The file's kind, so that another JSON file in its place is named as such.
    public var kind = RunRecord.distillationKind
    public var method: String
    /// Absolute paths.
    public var teacher: String
    public var teacherCRC32: UInt32
    public var student: String
    public var studentInit: String?
    /// The sample shards a run on stored samples trains on (none for a data-free run).
    public var fromSamples: [String]
    /// Every setting and the dataset keys, as a config file (as checkpoints keep them).
    public var settings: String
    /// The run reads no real image (`--no-real-data`); kept by every resume.
    public var noRealData: Bool
    public var outputs: Outputs
    /// When and by which command the run started.
    public var started: String
    public var command: String
    public var dfkdVersion: String

    enum CodingKeys: String, CodingKey {
        case kind, method, teacher, teacherCRC32 = "teacher_crc32", student, studentInit = "student_init", fromSamples = "from_samples"
        case settings, noRealData = "no_real_data", outputs, started, command, dfkdVersion = "dfkd_version"
    }

    public static let distillationKind = "dfkd distillation run"
    /// Far larger than any record; a bigger file is not one.
    static let largestSize = 1 << 20

    public init(method: String, teacher: String, teacherCRC32: UInt32, student: String, studentInit: String?, fromSamples: [String],
                settings: String, noRealData: Bool, outputs: Outputs, started: String, command: String, dfkdVersion: String) {
        (self.method, self.teacher, self.teacherCRC32, self.student, self.studentInit) = (method, teacher, teacherCRC32, student, studentInit)
        (self.fromSamples, self.settings, self.noRealData, self.outputs) = (fromSamples, settings, noRealData, outputs)
        (self.started, self.command, self.dfkdVersion) = (started, command, dfkdVersion)
    }

    /// The record at `path`; an error names the file and what is wrong with it.
    public static func read(_ path: String) throws -> RunRecord {
        try InputFile.requireRegular(path, expected: "a run record (JSON)")
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= largestSize else {
            throw StorageError(file: path, "\(size) bytes; a run record is a small JSON object (at most \(largestSize) bytes)")
        }
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw StorageError(file: path, "cannot be read: \(error.localizedDescription)")
        }
        return try decode(bytes, file: path)
    }

    public static func decode(_ bytes: Data, file: String) throws -> RunRecord {
        let kind = (try? JSONSerialization.jsonObject(with: bytes) as? [String: Any])?["kind"] as? String
        guard kind == distillationKind else {
            throw StorageError(file: file, "not a run record: expected a JSON object whose \"kind\" is \"\(distillationKind)\", found "
                               + (kind.map { "\"\($0)\"" } ?? "none"))
        }
        do { return try JSONDecoder().decode(RunRecord.self, from: bytes) } catch let error as DecodingError {
            throw StorageError(file: file, "a damaged run record: \(Self.describe(error))")
        }
    }

    /// Replaces `path` whole, so that a kill leaves the previous record or this one.
    public func write(to path: String) throws {
        let bytes = try encoded()
        try AtomicFile.write(path) { temporary in try bytes.write(to: URL(fileURLWithPath: temporary)) }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// The field a decoding error is about and what was expected there.
    private static func describe(_ error: DecodingError) -> String {
        func field(_ path: [CodingKey]) -> String { path.isEmpty ? "the record" : "field \"" + path.map(\.stringValue).joined(separator: ".") + "\"" }
        switch error {
        case let .keyNotFound(key, context): return "\(field(context.codingPath + [key])) is missing"
        case let .typeMismatch(type, context): return "\(field(context.codingPath)) is not \(type)"
        case let .valueNotFound(type, context): return "\(field(context.codingPath)) is null, expected \(type)"
        case let .dataCorrupted(context): return "\(field(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
