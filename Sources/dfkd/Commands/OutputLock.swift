import Distributed
import Foundation
import Storage

/// The lock a command holds on its outputs for as long as it runs (`RunLock`): taken by
/// rank 0 before anything there is touched, its refusal reaching every rank alike.
final class OutputLock {
    private let lock: RunLock
    /// The directory the lock made, removed again if the run leaves it empty (it failed
    /// before writing anything: a misspelt teacher leaves no trace).
    private let madeDirectory: String?

    private init(lock: RunLock, madeDirectory: String?) {
        self.lock = lock
        self.madeDirectory = madeDirectory
    }

    /// Rank 0's lock at `path` (its directory made first); nil on the other ranks. Every rank
    /// throws the same error when it cannot be taken.
    static func take(_ path: String, over communicator: Communicator) throws -> OutputLock? {
        var taken: OutputLock?
        var refusal = ""
        if communicator.isRoot {
            let directory = (path as NSString).deletingLastPathComponent
            let parent = directory.isEmpty ? "." : directory
            let existed = FileManager.default.fileExists(atPath: parent)
            do {
                try Directories.create(parent)
                let lock = try RunLock(path, command: CommandLine.arguments.joined(separator: " "), note: { print($0) }, lost: { message in
                    FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
                    // Another run owns the directory now: nothing of this one may be written there, not even at exit.
                    _exit(1)
                })
                taken = OutputLock(lock: lock, madeDirectory: existed ? nil : parent)
            } catch {
                refusal = "\(error)"
                if !existed { rmdir(parent) }
            }
        }
        refusal = String(decoding: communicator.broadcast(bytes: Array(refusal.utf8)), as: UTF8.self)
        guard refusal.isEmpty else { throw CommandError(refusal) }
        return taken
    }

    func release() {
        lock.release()
        if let madeDirectory { rmdir(madeDirectory) }  // only if empty
    }
}
