import Foundation

/// What an input path must be before it is opened: a regular file (or a link to one). A FIFO
/// would block the open until some writer came, a device such as /dev/zero never ends, and a
/// directory reads as nothing.
public enum InputFile {
    /// Throws naming `path` and what it is, when it exists and is not a regular file; an
    /// absent path is left to the reader's own error.
    public static func requireRegular(_ path: String, expected: String = "a file") throws {
        var status = stat()
        guard stat(path, &status) == 0 else { return }
        let kind: String
        switch status.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a FIFO (named pipe)"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        throw FileError(file: path, "is \(kind); expected \(expected)")
    }
}
