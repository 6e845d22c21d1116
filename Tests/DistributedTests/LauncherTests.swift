import Foundation
import TestSupport
import XCTest

/// launch/mpirun.sh on this machine: ranks start, and the job's exit status comes back.
final class LauncherTests: XCTestCase {
    private func launch(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.run("/bin/bash", [TestFiles.repositoryRoot + "/launch/mpirun.sh"] + arguments)
    }

    func testLauncherStartsRanksAndPassesTheExitStatusThrough() throws {
        let checks = TestFiles.repositoryRoot + "/.build/release/MPIChecks"
        let three = try launch(["--ranks", "3", "--oversubscribe", "--", checks, "collectives"])
        XCTAssertEqual(three.status, 0, three.output)
        for rank in 0..<3 { XCTAssertTrue(three.output.contains("rank \(rank) of 3 (local \(rank)): collectives ok"), three.output) }

        let failing = try launch(["--oversubscribe", "--", checks, "no-such-check"])
        XCTAssertEqual(failing.status, 2, failing.output)

        // More ranks than this machine's cores: they run unbound instead of failing to bind.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let crowded = try launch(["--ranks", "\(cores + 1)", "--", checks, "collectives"])
        XCTAssertEqual(crowded.status, 0, crowded.output)
        XCTAssertTrue(crowded.output.contains("exceed the \(cores) cores here; running unbound"), crowded.output)

        let usage = try launch(["--ranks", "2"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertTrue(usage.output.contains("no command given"), usage.output)
    }
}
