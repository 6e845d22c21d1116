import Foundation

/// The scripts of launch/ and cluster/ beside this executable: found from where it was
/// built (REPOSITORY/.build/release/dfkd), else from the working directory.
enum RepositoryScripts {
    /// This executable's absolute path, for the runs and tasks it starts.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func path(_ relative: String) throws -> String {
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(relative).path
            if FileManager.default.isReadableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        let here = FileManager.default.currentDirectoryPath + "/" + relative
        guard FileManager.default.isReadableFile(atPath: here) else {
            throw CommandError("\(relative) is neither beside \(executable) in its repository nor in the working directory")
        }
        return here
    }
}
