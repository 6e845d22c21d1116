import ArgumentParser
import Foundation

/// Checks of command-line values, run by `validate()` before any work starts; a failure is
/// a usage error (exit status 64) naming the option.
enum CommandLineValues {
    /// Each given value against what its option allows.
    static func check(_ values: [(value: Double?, option: String, allowed: AllowedValues)]) throws {
        for (value, option, allowed) in values {
            guard let value else { continue }
            do { try allowed.check(value, name: option, source: "") } catch let error as CommandError {
                throw ValidationError(error.description)
            }
        }
    }

    /// An output directory must be one, or not exist yet: a run never writes over a file or
    /// a device that happens to have the name.
    static func requireDirectoryOrAbsent(_ path: String) throws {
        guard !path.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError("the output directory is empty; expected the path of a directory of the run's own")
        }
        // "/", "/..", "//" or a link to the root: a run's files and checkpoints would land there.
        guard URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path != "/" else {
            throw ValidationError("\(path) is the file system's root; expected a directory of the run's own")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            // A dangling symbolic link "does not exist" but would be written through.
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil {
                throw ValidationError("\(path) is a symbolic link to nothing; expected a directory or a path that does not exist")
            }
            return
        }
        guard isDirectory.boolValue else { throw ValidationError("\(path) exists and is not a directory; expected a directory or a path that does not exist") }
    }

    /// An output file must be a regular file, or not exist yet: it is replaced by a rename,
    /// which would put a file where a directory or a device node was.
    static func requireRegularFileOrAbsent(_ path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        let kind = status.st_mode & S_IFMT
        guard kind == S_IFREG else {
            throw ValidationError("\(path) exists and is \(kind == S_IFDIR ? "a directory" : kind == S_IFLNK ? "a symbolic link" : "not a regular file"); "
                                  + "expected a model file or a path that does not exist")
        }
    }
}
