import Foundation

/// Writes a file so that a reader (or a crash) sees either the old file or the whole new
/// one: the content goes to a temporary file beside the target, is fsynced, and is renamed
/// over the target; then the directory is fsynced so the rename itself is durable.
public enum AtomicFile {
    public static func write(_ path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        try Directories.create(directory)
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        do {
            try body(temporary)
            try fsync(path: temporary, what: "the new file")
            guard rename(temporary, path) == 0 else {
                throw StorageError(file: path, "cannot rename \(temporary) over it: \(String(cString: strerror(errno)))")
            }
        } catch {
            // Measured before the partial file is removed: a write that filled the disk
            // leaves next to nothing free.
            let free = freeBytes(directory)
            unlink(temporary)
            if let free, free < 1 << 20 {
                throw StorageError(file: path, "not written, the disk holding \(directory) is full (\(free) bytes free): \(error)")
            }
            throw error
        }
        try fsync(path: directory, what: "its directory")
    }

    /// The bytes an unprivileged writer may still use on the file system of `path`.
    static func freeBytes(_ path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    private static func fsync(path: String, what: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw StorageError(file: path, "cannot open \(what) to sync it") }
        defer { close(descriptor) }
        guard Foundation.fsync(descriptor) == 0 else { throw StorageError(file: path, "fsync of \(what) failed") }
    }
}
