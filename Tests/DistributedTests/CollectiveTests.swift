import Distributed
import Foundation
import TestSupport
import XCTest

/// The collectives over real MPI ranks (mpirun on this machine) and as the single process.
final class CollectiveTests: XCTestCase {
    private func runEverywhere(_ check: String, _ options: [String] = []) throws {
        let program = TestFiles.repositoryRoot + "/.build/release/MPIChecks"
        let alone = try MPIRun.run(program, [check] + options, ranks: nil)
        XCTAssertEqual(alone.status, 0, alone.output)
        XCTAssertTrue(alone.output.contains("rank 0 of 1 (local 0): \(check) ok"), alone.output)
        for ranks in [1, 2, 3] {
            let result = try MPIRun.run(program, [check] + options, ranks: ranks)
            XCTAssertEqual(result.status, 0, result.output)
            for rank in 0..<ranks {
                XCTAssertTrue(result.output.contains("rank \(rank) of \(ranks) (local \(rank)): \(check) ok"), result.output)
            }
        }
    }

    func testCollectivesOnOneTwoAndThreeRanks() throws { try runEverywhere("collectives") }

    /// Loss means, the entropy of the batch-mean prediction, the log-L2 norm and the
    /// contrastive loss over rows gathered from every rank: the same loss and (averaged)
    /// gradient as one process with the whole batch.
    func testBatchCoupledLossesSpanTheRanks() throws { try runEverywhere("batch-scope") }

    /// Synchronised batch norm's output, running statistics and gradients equal batch
    /// norm's on the whole batch.
    func testSynchronizedBatchNormEqualsTheWholeBatch() throws { try runEverywhere("sync-bn") }

    /// CPSC-DFKD steps on the ranks' shares of the batch equal those of one process.
    func testDistillationStepsEqualOneProcess() throws { try runEverywhere("distillation-steps") }

    /// The same check with gradients left un-averaged, and with the last rank's share left
    /// out of the batch statistics, fails on 2 and 3 ranks: its tolerance does not hide the
    /// defects it exists for.
    func testDistillationStepCheckCatchesDefects() throws {
        let program = TestFiles.repositoryRoot + "/.build/release/MPIChecks"
        for defect in ["unaveraged", "dropped-share"] {
            for ranks in [2, 3] {
                let result = try MPIRun.run(program, ["distillation-steps-" + defect], ranks: ranks)
                XCTAssertNotEqual(result.status, 0, "\(defect) on \(ranks) ranks passed:\n\(result.output)")
                XCTAssertTrue(result.output.contains("the averaged gradient differs from one process's"), result.output)
                XCTAssertTrue(result.output.contains("distillation-steps-\(defect) FAILED"), result.output)
            }
        }
    }

    /// Four iterations of CPSC-DFKD, of GIP (with its real-data steps) and of supervised
    /// training on 1, 2 and 3 ranks: every loss and the final weights within the check's
    /// stated tolerance of one process with the whole batch, and one process bit-identical
    /// to itself.
    func testCPSCTrajectoryEqualsOneProcess() throws { try runEverywhere("trajectory-cpsc") }
    func testGIPTrajectoryEqualsOneProcess() throws { try runEverywhere("trajectory-gip") }
    func testSupervisedTrajectoryEqualsOneProcess() throws { try runEverywhere("trajectory-supervised") }

    /// The same with the kernels users run: each convolution shape (the whole batch's, each
    /// rank's share) takes the algorithm measured for it on this machine, measured afresh here
    /// by whichever process meets it first, so a share may round by other kernels than the
    /// whole batch. Within the same tolerances.
    func testTrajectoriesWithMeasuredKernelsEqualOneProcess() throws {
        let cache = TestFiles.scratchDirectory()
        let previous = ProcessInfo.processInfo.environment["DFKD_CACHE_DIR"]
        setenv("DFKD_CACHE_DIR", cache, 1)
        defer { if let previous { setenv("DFKD_CACHE_DIR", previous, 1) } else { unsetenv("DFKD_CACHE_DIR") } }
        for check in ["trajectory-cpsc", "trajectory-gip", "trajectory-supervised"] { try runEverywhere(check, ["auto"]) }
        // The checks ran on measured choices (which algorithms won depends on the machine).
        let choices = try String(contentsOfFile: cache + "/convolution-choices.json", encoding: .utf8)
        XCTAssertTrue(choices.contains("direct") || choices.contains("gemm") || choices.contains("engine") || choices.contains("winograd"),
                      "no measured choice was kept: \(choices.prefix(2000))")
        print("measured choices: " + ["direct", "gemm", "few-channel", "engine-winograd", "winograd"].map {
            "\($0) \(choices.components(separatedBy: "\"\($0)").count - 1)"
        }.joined(separator: ", "))
    }

    func testSharesSplitTheBatchContiguously() {
        XCTAssertEqual((0..<3).map { SingleProcess.share(of: 10, rank: $0, size: 3) }, [0..<4, 4..<7, 7..<10])
        XCTAssertEqual((0..<4).map { SingleProcess.share(of: 2, rank: $0, size: 4) }, [0..<1, 1..<2, 2..<2, 2..<2])
        XCTAssertEqual(SingleProcess().share(of: 7), 0..<7)
    }
}
