import Foundation

/// Output directories, made with their parents; a failure names the directory and the
/// system's reason ("Read-only file system", "Permission denied", ...).
public enum Directories {
    public static func create(_ path: String) throws {
        var made = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            made += "/" + component
            var status = stat()
            if stat(made, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR { continue }
            guard mkdir(made, 0o777) == 0 || errno == EEXIST else {
                throw StorageError(file: path, "cannot be created as a directory: \(String(cString: strerror(errno)))")
            }
        }
    }
}
