import Foundation
import Storage

/// Finds which datasets of a file that failed its checksum block are damaged. The HDF5
/// library can crash on a damaged file, so a child process (`dfkd inspect --scan-unchecked`)
/// reads it, and a crash there is itself the finding.
enum DamageLocator {
    /// The damaged datasets of the file at `path`, with what is wrong with each, or a
    /// sentence saying why none could be named.
    static func damagedDatasets(of path: String) -> Result<[(dataset: String, problem: String)], StorageError> {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["inspect", "--scan-unchecked", path]
        let output = Pipe()
        (child.standardOutput, child.standardError) = (output, FileHandle.nullDevice)
        do { try child.run() } catch { return .failure(StorageError(file: path, "not scanned: \(error.localizedDescription)")) }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        if child.terminationReason == .uncaughtSignal {
            return .failure(StorageError(file: path, "the HDF5 library crashed reading it (signal \(child.terminationStatus)): its metadata is damaged"))
        }
        let found = text.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            return (dataset: parts[0], problem: parts.count > 1 ? parts[1] : "")
        }
        return found.isEmpty ? .failure(StorageError(file: path, "every dataset reads whole: the damage is in metadata, an attribute or unused space"))
            : .success(found)
    }

    /// Prints what `damagedDatasets` reads, in the child: one "DATASET<TAB>PROBLEM" line each.
    static func scan(_ path: String) {
        do {
            for (dataset, problem) in try HDF5Group.open(path, checkingBlock: false).damagedDatasets() { print("\(dataset)\t\(problem)") }
        } catch let error as StorageError {
            print("(the file)\tcannot be read by the HDF5 library: \(error.problem)")
        } catch {
            print("(the file)\t\(error)")
        }
    }

    /// `body`, whose error for a file that fails its checksum block also names the damaged
    /// datasets.
    static func naming<Result>(_ body: () throws -> Result) throws -> Result {
        do { return try body() } catch { throw described(error) }
    }

    /// `error`, and when it is about a file that fails its checksum block, which of the
    /// file's datasets are damaged.
    static func described(_ error: Error) -> Error {
        guard let error = error as? StorageError, FileManager.default.fileExists(atPath: error.file), failsItsBlock(error.file) else { return error }
        switch damagedDatasets(of: error.file) {
        case .success(let damaged):
            return StorageError(file: error.file, error.problem + "; damaged: " + damaged.map { "dataset \($0.dataset): \($0.problem)" }.joined(separator: "; "))
        case .failure(let finding):
            return StorageError(file: error.file, error.problem + "; " + finding.problem)
        }
    }

    private static func failsItsBlock(_ path: String) -> Bool {
        do { _ = try HDF5Group.checksumBlock(of: path); return false } catch { return true }
    }
}
