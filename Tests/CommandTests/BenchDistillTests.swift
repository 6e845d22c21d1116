import Foundation
import TestSupport
import XCTest

/// `dfkd bench distill` reports what it measured: per-rank figures from every rank, the time
/// in collectives (none without communication) and, with --ranks, every configuration and
/// the scaling efficiency. Tiny batches: the figures are checked for their presence and
/// sense, never for speed.
final class BenchDistillTests: XCTestCase {
    private let quick = ["--batch", "8", "--repeats", "1", "--iterations", "1", "--json"]

    private func launch(_ arguments: [String]) throws -> [String: Any] {
        let result = try Subprocess.run("/bin/bash", [TestFiles.repositoryRoot + "/launch/mpirun.sh", "--ranks", "2", "--oversubscribe", "--",
                                                      DFKDCommand.binary, "bench", "distill"] + arguments)
        XCTAssertEqual(result.status, 0, result.output)
        return try DFKDCommand.lastJSON(result.output)
    }

    func testTwoRanksReportTheirCommunicationAndMemory() throws {
        let shared = try launch(quick)
        XCTAssertEqual(shared["ranks"] as? Int, 2)
        XCTAssertEqual((shared["peak_rss_mib"] as? [Double])?.count, 2)
        let communication = try XCTUnwrap(shared["communication_share"] as? [Double])
        XCTAssertEqual(communication.count, 2)
        XCTAssertTrue(communication.allSatisfy { $0 > 0 && $0 < 1 }, "\(communication)")
        XCTAssertGreaterThan(shared["images_per_second"] as? Double ?? 0, 0)

        let independent = try launch(quick + ["--independent"])
        XCTAssertEqual(independent["communication_share"] as? [Double], [0, 0])
    }

    func testRanksComparesEveryConfiguration() throws {
        let result = try DFKDCommand.run(["bench", "distill", "--ranks", "--rounds", "1"] + quick)
        XCTAssertEqual(result.status, 0, result.output)
        let summary = try DFKDCommand.lastJSON(result.output)
        let names = (summary["configurations"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["1x1", "2x1", "2x1-no-communication", "1x2"])
        let threads = (summary["configurations"] as? [[String: Any]])?.compactMap { $0["threads"] as? Int }
        XCTAssertEqual(threads, [1, 1, 1, 2])
        for key in ["scaling_efficiency", "speedup_2_ranks", "speedup_ceiling", "communication_share", "speedup_2_threads"] {
            XCTAssertGreaterThan(summary[key] as? Double ?? 0, 0, key)
        }
    }

    func testSamplesComparesIterationsWithAndWithoutShards() throws {
        let result = try DFKDCommand.run(["bench", "distill", "--samples"] + quick)
        XCTAssertEqual(result.status, 0, result.output)
        let summary = try DFKDCommand.lastJSON(result.output)
        for key in ["shards_iteration_ms", "no_shards_iteration_ms", "shards_ratio", "shards_mib_per_iteration"] {
            XCTAssertGreaterThan(summary[key] as? Double ?? 0, 0, key)
        }
        XCTAssertTrue(result.output.contains("sample shards of every batch"), result.output)
    }
}
