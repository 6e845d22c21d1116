import Distributed
import Foundation
import Storage

/// The checkpoint a resumed run continues from, the same on every rank: rank 0 picks the
/// newest one that reads back whole and sends it to the others in one message, so only
/// rank 0 needs to see the run's directory.
public enum ResumeCheckpoint {
    public struct Found: Sendable {
        public let path: String
        public let contents: CheckpointFile.Contents
    }

    /// The newest readable checkpoint in `directory`, nil when it holds none (a run that
    /// has not written one yet starts there). Damaged newer ones are reported through
    /// `warn` and renamed to `NAME.damaged`, so that later resumes and pruning pass them
    /// by; when every checkpoint is damaged the error lists each. `explaining` may add to a
    /// damaged checkpoint's error (which of its datasets are damaged).
    public static func find(in directory: String, over communicator: Communicator, explaining: (Error) -> Error = { $0 },
                            warn: (String) -> Void) throws -> Found? {
        var found: Found?
        if communicator.isRoot {
            switch CheckpointSeries(directory: directory).newest() {
            case .none:
                found = nil
            case let .readable(path, contents, passedOver):
                for error in passedOver {
                    warn("warning: passing over a damaged checkpoint: \(explaining(error))")
                    if let damaged = (error as? StorageError)?.file { try? FileManager.default.moveItem(atPath: damaged, toPath: damaged + ".damaged") }
                }
                found = Found(path: path, contents: contents)
            case .noneReadable(let errors):
                throw StorageError(file: directory, "holds no readable checkpoint:\n  " + errors.map { "\(explaining($0))" }.joined(separator: "\n  "))
            }
        }
        guard communicator.size > 1 else { return found }
        let path = communicator.broadcast(bytes: Array((found?.path ?? "").utf8))
        let contents = communicator.broadcast(bytes: found?.contents.encoded() ?? [])
        guard !path.isEmpty else { return nil }
        return Found(path: String(decoding: path, as: UTF8.self), contents: try CheckpointFile.Contents(decoding: contents))
    }
}
