import Foundation
import XCTest

/// The built `dfkd` command, run as users run it: a real process, its output and status.
public enum DFKDCommand {
    /// The release build of this checkout, or the one DFKD_BINARY names (to fuzz or compare
    /// another build).
    public static let binary = ProcessInfo.processInfo.environment["DFKD_BINARY"] ?? TestFiles.repositoryRoot + "/.build/release/dfkd"

    /// Runs `dfkd arguments`; stdout and stderr together.
    public static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        XCTAssertTrue(FileManager.default.fileExists(atPath: binary), "build dfkd first (swift build -c release)")
        return try Subprocess.run(binary, arguments)
    }

    /// The JSON object on the output's last line (what `--json` prints).
    public static func lastJSON(_ output: String) throws -> [String: Any] {
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], output)
    }
}
