import Foundation
import XCTest

/// Scratch directories and repository paths for tests.
public enum TestFiles {
    /// A fresh empty directory under the system's temporary directory.
    public static func scratchDirectory(_ name: String = #function) -> String {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let path = NSTemporaryDirectory() + "dfkd-tests-\(getpid())-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The repository's root (this file is Tests/TestSupport/Files.swift).
    public static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The real MNIST test split beside the repository (../shared/data/mnist), or where
    /// DFKD_MNIST_DIR says.
    public static var mnistDirectory: String {
        if let given = ProcessInfo.processInfo.environment["DFKD_MNIST_DIR"] { return given }
        let candidates = [URL(fileURLWithPath: repositoryRoot).deletingLastPathComponent().appendingPathComponent("shared/data/mnist").path,
                          "/work/shared/data/mnist"]
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }

    public static func write(_ bytes: [UInt8], to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    /// A new tmpfs with `options` as a small or read-only disk (mounting needs root; a
    /// failure fails the test), nil when it could not be mounted. Unmount it when done.
    public static func mountTmpfs(_ options: String, file: StaticString = #filePath, line: UInt = #line) throws -> String? {
        let disk = scratchDirectory() + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let mount = try Subprocess.run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", disk])
        XCTAssertEqual(mount.status, 0, "a tmpfs is needed as the disk (run as root): \(mount.output)", file: file, line: line)
        return mount.status == 0 ? disk : nil
    }
}
