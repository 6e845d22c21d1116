import Foundation

/// The checkpoints of one run in their own directory: each new one is written atomically
/// (on a background thread, so the training loop waits only for copying its state), the
/// newest `keep` are kept, and resuming takes the newest that reads back whole, saying why
/// it passed over any newer one.
///
/// A file is deleted only after a newer one is durable, so once a checkpoint has been
/// written the directory always holds at least one that loads.
public final class CheckpointSeries: @unchecked Sendable {  // mutable state under `lock`; writes on one serial queue
    public let directory: String
    public let keep: Int
    private let queue = DispatchQueue(label: "dfkd.checkpoint-writer")
    private let lock = NSLock()
    private var pendingError: Error?
    /// Seconds the last finished write took on the writer thread.
    public var lastWriteSeconds: Double { lock.withLock { writeSeconds } }
    private var writeSeconds = 0.0

    public init(directory: String, keep: Int = 2) {
        precondition(keep >= 1, "at least one checkpoint is kept")
        self.directory = directory
        self.keep = keep
    }

    public static let fileExtension = "h5"

    /// The checkpoint files in the directory, oldest first (their names sort by position).
    public func files() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("checkpoint-") && $0.hasSuffix("." + Self.fileExtension) }.sorted().map { directory + "/" + $0 }
    }

    /// Removes the temporary files of writes that a kill interrupted.
    public func removeInterruptedWrites() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(".checkpoint-") && name.contains(".tmp-") {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    /// Starts writing `contents` as `name` (which must sort after every earlier name) and
    /// returns at once. An earlier write still running is waited for first; if it failed,
    /// its error is thrown here and nothing new is written.
    public func write(_ contents: CheckpointFile.Contents, name: String) throws {
        try waitForWrites()
        try Directories.create(directory)
        queue.async { [self] in
            let start = Date()
            do {
                try CheckpointFile.write(contents, to: directory + "/" + name)
                try prune()
            } catch {
                lock.withLock { pendingError = error }
            }
            lock.withLock { writeSeconds = Date().timeIntervalSince(start) }
        }
    }

    /// Waits until every started write has finished; throws the first failure.
    public func waitForWrites() throws {
        queue.sync {}
        let error = lock.withLock { () -> Error? in
            defer { pendingError = nil }
            return pendingError
        }
        if let error { throw error }
    }

    private func prune() throws {
        for path in files().dropLast(keep) {
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw StorageError(file: path, "cannot remove an old checkpoint: \(error.localizedDescription)")
            }
        }
    }

    public enum Newest {
        /// The directory holds no checkpoint: a run that has not written one yet.
        case none
        /// The newest that reads back whole, and every newer one that did not, with its error.
        case readable(path: String, contents: CheckpointFile.Contents, passedOver: [Error])
        /// Every checkpoint there is damaged.
        case noneReadable([Error])
    }

    public func newest() -> Newest {
        var unreadable: [Error] = []
        for path in files().reversed() {
            do {
                return .readable(path: path, contents: try CheckpointFile.read(path), passedOver: unreadable)
            } catch {
                unreadable.append(error)
            }
        }
        return unreadable.isEmpty ? .none : .noneReadable(unreadable)
    }
}
