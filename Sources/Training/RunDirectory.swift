import Foundation
import Storage

/// The files of a distillation run's output directory, named in one place.
public struct RunDirectory: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    /// The student as a model file, rewritten after every epoch.
    public var student: String { path + "/student.h5" }
    /// The last epoch's student, beside the one chosen without real images (student.h5).
    public var lastStudent: String { path + "/student-last.h5" }
    /// The generator, rewritten after every epoch.
    public var generator: String { path + "/generator.h5" }
    /// One JSON line per finished epoch.
    public var metrics: String { path + "/metrics.jsonl" }
    public var grids: String { path + "/grids" }
    public func grid(epoch: Int) -> String { grids + String(format: "/epoch-%04d.png", epoch) }
    public var checkpoints: String { path + "/checkpoints" }
    /// The sample shards, one set of files per rank.
    public var samples: String { path + "/samples" }
    /// The run as its invocations resolved it (RunRecord), written before the first step.
    public var record: String { path + "/run.json" }
    /// Held by the run writing here (RunLock).
    public var lock: String { path + "/run.lock" }

    /// Moves the checkpoints and sample shards of a previous run in this directory to
    /// `checkpoints.before-TIME` and `samples.before-TIME`, and with `includingRecord` its
    /// record to `run.json.before-TIME`, and returns what moved where, empty when there are
    /// none. A new run's files mixed with the old run's could leave an old checkpoint newest
    /// for a later resume, old samples among the new, or the old run's record to be restarted
    /// by a resume of a new run that failed before it wrote its own; they are moved, not
    /// deleted.
    public func setAsidePreviousRun(includingRecord: Bool) throws -> [(place: String, holding: String, aside: String)] {
        let time = ISO8601DateFormatter().string(from: Date())
        var moved: [(place: String, holding: String, aside: String)] = []
        for (place, holding, holdsFiles) in [
            (checkpoints, "checkpoints", !CheckpointSeries(directory: checkpoints).files().isEmpty),
            (samples, "sample shards", !((try? FileManager.default.contentsOfDirectory(atPath: samples)) ?? []).isEmpty),
            (record, "record", includingRecord && FileManager.default.fileExists(atPath: record)),
        ] where holdsFiles {
            let aside = place + ".before-" + time
            guard rename(place, aside) == 0 else {
                throw StorageError(file: place, "a previous run's \(holding) cannot be moved to \(aside): \(String(cString: strerror(errno)))")
            }
            moved.append((place, holding, aside))
        }
        return moved
    }

    /// Removes what killed writes of the outputs left behind (`.student.h5.tmp-PID`, ...).
    public func removeStaleTemporaries() {
        [student, lastStudent, generator, metrics].forEach(AtomicFile.removeStaleTemporaries(of:))
        AtomicFile.removeStaleTemporaries(in: grids) { $0.hasPrefix("epoch-") && $0.hasSuffix(".png") }
        AtomicFile.removeStaleTemporaries(in: samples) { $0.hasPrefix("samples-") && $0.hasSuffix(".h5") }
    }

    /// A checkpoint's file name for the position it resumes at (epoch and iteration done
    /// within it); the names sort as the positions do.
    public static func checkpointName(epoch: Int, iteration: Int) -> String {
        String(format: "checkpoint-e%05d-i%06d.h5", epoch, iteration)
    }
}
