import Distillation
import Foundation
import Storage
import Training

/// What a distillation checkpoint (or the record of a run without one) says about its run,
/// and the check that the options of a resume agree with it: the same settings (but the epochs, which may extend the run), the
/// same dataset, the same student and the teacher with the same contents.
struct StoredRun {
    let path: String
    /// What `path` is, for messages: "the checkpoint" or "the run record".
    let holder: String
    /// Every setting and the dataset keys, as a config file.
    let settings: String
    let teacher: String
    let teacherCRC: UInt32
    let student: String
    let worldSize: Int
    let started: String
    /// The sample shards a run on stored samples trains on (none for a data-free run).
    let fromSamples: [String]

    init(_ checkpoint: ResumeCheckpoint.Found) throws {
        (path, holder) = (checkpoint.path, "the checkpoint")
        let contents = checkpoint.contents
        let kind = try contents.text("kind", in: path)
        guard kind == "distillation" else {
            throw StorageError(file: path, "is a checkpoint of \(kind), not of a distillation (root attribute 'kind')")
        }
        settings = try contents.text("settings", in: path)
        teacher = try contents.text("teacher", in: path)
        teacherCRC = UInt32(truncatingIfNeeded: try contents.integer("teacher_crc32", in: path))
        student = try contents.text("student", in: path)
        worldSize = try contents.integer("world_size", in: path)
        started = try contents.text("provenance_started", in: path)
        fromSamples = contents.attributes["from_samples"] == nil ? []
            : try contents.text("from_samples", in: path).split(separator: "\n").map(String.init)
    }

    /// A run that stopped before its first checkpoint, as its record (`path`) keeps it.
    init(record: RunRecord, path: String) {
        (self.path, holder) = (path, "the run record")
        (settings, teacher, teacherCRC, student) = (record.settings, record.teacher, record.teacherCRC32, record.student)
        (worldSize, started, fromSamples) = (0, record.started, record.fromSamples)
    }

    /// Throws one error listing every option of this invocation that disagrees with the
    /// checkpoint (or the record), with both values.
    func requireAgreement(settings given: DistillationConfiguration, dataset: DatasetChoice, teacher teacherPath: String,
                          teacherCRC crc: UInt32, student studentName: String, fromSamples samples: [String]) throws {
        let file = try DistillationSettings.file(texts: [(path, settings)])
        let stored = try DistillationSettings.configuration(method: try DistillationSettings.method(nil, file: file), file: file)
        var conflicts = DistillationSettings.conflicts(stored: stored, given: given, mayChange: ["epochs"], holder: holder)
        let storedDataset = try DatasetChoice(config: file)
        if storedDataset != dataset { conflicts.append("dataset: \(holder) has \(storedDataset.description), given \(dataset.description)") }
        if samples != fromSamples {
            conflicts.append("from-samples: \(holder)'s run trained on \(fromSamples.isEmpty ? "generated samples" : "\(fromSamples.count) shard(s)"), "
                             + "given \(samples.isEmpty ? "none" : "\(samples.count) shard(s)")")
        }
        if studentName != student { conflicts.append("student: \(holder) has \(student), given \(studentName)") }
        if crc != teacherCRC {
            conflicts.append("teacher: \(teacherPath) has CRC-32 \(Checksum.hex(crc)); \(holder)'s teacher \(teacher) had \(Checksum.hex(teacherCRC))")
        }
        guard conflicts.isEmpty else {
            throw CommandError("\(path): the options given disagree with the run \(holder == "the checkpoint" ? "this checkpoint continues" : "it records"):\n  " + conflicts.joined(separator: "\n  "))
        }
    }

    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }

    /// A YAML single-quoted scalar.
    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}
