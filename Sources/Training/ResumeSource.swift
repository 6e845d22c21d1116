import Distributed
import Foundation
import Storage

/// What `--resume DIR` continues, the same on every rank (rank 0 looks, the others are
/// told): the newest readable checkpoint and the run's record, either of which may be
/// missing. Neither, in an absent or empty directory, starts a new run there (a batch
/// script resubmitted before its first run wrote anything relies on it). A directory that
/// holds other files but neither is refused, listing what it holds: resuming there would
/// start a new run over files of another kind. The files a launcher keeps beside the run it
/// starts (a sweep's) are not counted.
public struct ResumeSource: Sendable {
    public let checkpoint: ResumeCheckpoint.Found?
    public let record: RunRecord?

    /// A new run: nothing to continue.
    public var isEmpty: Bool { checkpoint == nil && record == nil }

    public static func find(in directory: RunDirectory, over communicator: Communicator, besides launcherFiles: Set<String> = [],
                            explaining: (Error) -> Error = { $0 }, warn: (String) -> Void) throws -> ResumeSource {
        var refusal = "", recordBytes = Data()
        if communicator.isRoot {
            do {
                if FileManager.default.fileExists(atPath: directory.record) {
                    recordBytes = try RunRecord.read(directory.record).encoded()
                } else if CheckpointSeries(directory: directory.checkpoints).files().isEmpty {
                    refusal = notARun(directory, besides: launcherFiles) ?? ""
                }
            } catch {
                refusal = "\(error)"
            }
        }
        refusal = String(decoding: communicator.broadcast(bytes: Array(refusal.utf8)), as: UTF8.self)
        guard refusal.isEmpty else { throw ResumeRefusal(description: refusal) }
        recordBytes = Data(communicator.broadcast(bytes: Array(recordBytes)))
        let record = recordBytes.isEmpty ? nil : try RunRecord.decode(recordBytes, file: directory.record)
        let checkpoint = try ResumeCheckpoint.find(in: directory.checkpoints, over: communicator, explaining: explaining, warn: warn)
        return ResumeSource(checkpoint: checkpoint, record: record)
    }

    /// Why `directory`, holding neither a run record nor a checkpoint, is not resumed; nil
    /// when it is absent or holds nothing but the lock of this invocation and `launcherFiles`.
    private static func notARun(_ directory: RunDirectory, besides launcherFiles: Set<String>) -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0 != (directory.lock as NSString).lastPathComponent && !launcherFiles.contains($0) }.sorted()
        guard !names.isEmpty else { return nil }
        var isDirectory: ObjCBool = false
        let shown = names.prefix(12).map { name in
            FileManager.default.fileExists(atPath: directory.path + "/" + name, isDirectory: &isDirectory) && isDirectory.boolValue ? name + "/" : name
        }
        var message = "\(directory.path) holds no distillation run to resume (no \((directory.record as NSString).lastPathComponent), "
            + "no checkpoint in \((directory.checkpoints as NSString).lastPathComponent)/) but other files: " + shown.joined(separator: ", ")
            + (names.count > shown.count ? " and \(names.count - shown.count) more" : "")
        let parent = (directory.path as NSString).deletingLastPathComponent
        if names.contains(where: { $0.hasPrefix("checkpoint-") && $0.hasSuffix(".h5") }) {
            message += "; these are a run's checkpoints: --resume \(parent.isEmpty ? "." : parent) continues the run they belong to"
        } else {
            message += "; give --resume the directory of a run, or --out a new directory for a new run"
        }
        return message
    }
}

/// `--resume` given a directory that holds no run.
public struct ResumeRefusal: Error, CustomStringConvertible {
    public let description: String
}
