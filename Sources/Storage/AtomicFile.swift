import Foundation

/// Writes files so that a reader (or a crash) sees either the old file or the whole new
/// one: the content goes to a temporary file beside the target, is fsynced, and is renamed
/// over the target; then the directory is fsynced so the rename itself is durable.
public enum AtomicFile {
    /// One file of a set: its path, and how its content is written to a temporary path.
    public struct Pending {
        public let path: String
        public let write: (_ temporaryPath: String) throws -> Void

        public init(_ path: String, _ write: @escaping (_ temporaryPath: String) throws -> Void) {
            self.path = path
            self.write = write
        }
    }

    public static func write(_ path: String, _ body: @escaping (_ temporaryPath: String) throws -> Void) throws {
        try writeSet([Pending(path, body)])
    }

    /// Writes files that belong together (an epoch's student and generator): every one is
    /// written and synced to its temporary file before any replaces its target, so a failed
    /// write (a full disk) replaces none of them. Renames cannot run out of space; only a
    /// crash between two of them, microseconds apart, leaves the set mixed.
    public static func writeSet(_ files: [Pending]) throws {
        var written: [(temporary: String, path: String)] = []
        do {
            for file in files {
                try Directories.create(directory(of: file.path))
                let temporary = temporaryPath(for: file.path)
                written.append((temporary, file.path))
                try file.write(temporary)
                try fsync(path: temporary, what: "the new file")
            }
        } catch {
            // Measured before the partial files are removed: a write that filled the disk
            // leaves next to nothing free.
            let failed = written.last?.path ?? files[0].path
            let explained = explainingFullDisk(error, writing: failed)
            for (temporary, _) in written { unlink(temporary) }
            throw explained
        }
        for (temporary, path) in written {
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                for (left, _) in written { unlink(left) }
                throw StorageError(file: path, "cannot rename \(temporary) over it: \(reason)")
            }
        }
        for directory in Set(written.map { directory(of: $0.path) }) { try fsync(path: directory, what: "its directory") }
    }

    /// `error`, of a write of `path`, said as a full disk when the disk has next to nothing
    /// free: the library's own message ("cannot write dataset") does not say why. Call it
    /// before the partial file is removed, which frees the space again.
    public static func explainingFullDisk(_ error: Error, writing path: String) -> Error {
        guard let free = freeBytes(directory(of: path)), free < 1 << 20 else { return error }
        return StorageError(file: path, "not written: no space left on device (the disk holding \(directory(of: path)) has \(free) bytes free): \(error)")
    }

    /// What sets a temporary file's name apart: `.NAME.tmp-PID`.
    static let temporarySuffix = ".tmp-"

    /// The temporary file beside `path` that this process writes before it replaces `path`.
    public static func temporaryPath(for path: String) -> String {
        directory(of: path) + "/." + (path as NSString).lastPathComponent + temporarySuffix + "\(getpid())"
    }

    /// Makes the whole, closed file at `temporary` the file at `path`: fsynced, renamed over
    /// it, the rename made durable. For a file written over time rather than in one `write`.
    public static func publish(_ temporary: String, as path: String) throws {
        try fsync(path: temporary, what: "the new file")
        guard rename(temporary, path) == 0 else { throw StorageError(file: path, "cannot rename \(temporary) over it: \(String(cString: strerror(errno)))") }
        try fsync(path: directory(of: path), what: "its directory")
    }

    /// Removes the temporary files that writes of processes no longer running on this host
    /// left in `directory` (a kill during a write) for targets whose name `isOurs` accepts;
    /// returns their names. Another program's files are never touched.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String, for isOurs: (_ targetName: String) -> Bool) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            guard name.hasPrefix("."), let range = name.range(of: temporarySuffix, options: .backwards),
                  let pid = Int32(name[range.upperBound...]), pid > 0, isOurs(String(name[name.index(after: name.startIndex)..<range.lowerBound]))
            else { return false }
            let running = kill(pid, 0) == 0 || errno == EPERM
            return !running && unlink(directory + "/" + name) == 0
        }
    }

    /// The same for the one target `path`.
    public static func removeStaleTemporaries(of path: String) {
        let name = (path as NSString).lastPathComponent
        removeStaleTemporaries(in: directory(of: path)) { $0 == name }
    }

    private static func directory(of path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
    }

    /// The bytes an unprivileged writer may still use on the file system of `path`.
    static func freeBytes(_ path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    private static func fsync(path: String, what: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw StorageError(file: path, "cannot open \(what) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard Foundation.fsync(descriptor) == 0 else { throw StorageError(file: path, "fsync of \(what) failed: \(String(cString: strerror(errno)))") }
    }
}
