import Distributed
import Foundation
import TestSupport
import XCTest

/// The collectives over real MPI ranks (mpirun on this machine) and as the single process.
final class CollectiveTests: XCTestCase {
    func testCollectivesOnOneTwoAndThreeRanks() throws {
        let checks = TestFiles.repositoryRoot + "/.build/release/MPIChecks"
        let alone = try MPIRun.run(checks, ["collectives"], ranks: nil)
        XCTAssertEqual(alone.status, 0, alone.output)
        XCTAssertTrue(alone.output.contains("rank 0 of 1 (local 0): collectives ok"), alone.output)
        for ranks in [1, 2, 3] {
            let result = try MPIRun.run(checks, ["collectives"], ranks: ranks)
            XCTAssertEqual(result.status, 0, result.output)
            for rank in 0..<ranks {
                XCTAssertTrue(result.output.contains("rank \(rank) of \(ranks) (local \(rank)): collectives ok"), result.output)
            }
        }
    }

    func testSharesSplitTheBatchContiguously() {
        XCTAssertEqual((0..<3).map { SingleProcess.share(of: 10, rank: $0, size: 3) }, [0..<4, 4..<7, 7..<10])
        XCTAssertEqual((0..<4).map { SingleProcess.share(of: 2, rank: $0, size: 4) }, [0..<1, 1..<2, 2..<2, 2..<2])
        XCTAssertEqual(SingleProcess().share(of: 7), 0..<7)
    }
}
