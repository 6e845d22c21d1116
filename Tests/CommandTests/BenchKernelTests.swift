import Foundation
import TestSupport
import XCTest

/// `dfkd bench convs` and `dfkd bench pool` report what they measured. Tiny sizes: the figures
/// are checked for their presence and sense, never for speed.
final class BenchKernelTests: XCTestCase {
    private let quick = ["--repeats", "1", "--iterations", "1", "--json"]

    func testConvolutionsOfAModelAgainstTheGEMMRate() throws {
        let result = try DFKDCommand.run(["bench", "convs", "--model", "lenet5", "--batch", "4", "--gemm-size", "128"] + quick)
        XCTAssertEqual(result.status, 0, result.output)
        let summary = try DFKDCommand.lastJSON(result.output)
        XCTAssertGreaterThan(summary["gemm_gflops"] as? Double ?? 0, 0, result.output)
        let convolutions = try XCTUnwrap(summary["convolutions"] as? [[String: Any]], result.output)
        // LeNet-5's three convolutions, each once, the first on the 1-channel image.
        XCTAssertEqual(convolutions.compactMap { $0["weight"] as? [Int] }, [[6, 1, 5, 5], [16, 6, 5, 5], [120, 16, 5, 5]])
        XCTAssertEqual(convolutions.first?["input"] as? [Int], [4, 1, 32, 32])
        for convolution in convolutions {
            for pass in ["forward", "backward_data", "backward_weights"] {
                XCTAssertGreaterThan(convolution[pass + "_gflops"] as? Double ?? 0, 0, "\(pass): \(convolution)")
                XCTAssertGreaterThan(convolution[pass + "_of_gemm"] as? Double ?? 0, 0, "\(pass): \(convolution)")
            }
            XCTAssertEqual((convolution["implementations"] as? [String])?.count, 3, "\(convolution)")
        }
    }

    func testPoolingInEveryLayoutAgainstOneDNN() throws {
        let result = try DFKDCommand.run(["bench", "pool", "--batch", "2", "--size", "8"] + quick)
        XCTAssertEqual(result.status, 0, result.output)
        let layouts = try XCTUnwrap(DFKDCommand.lastJSON(result.output)["layouts"] as? [[String: Any]], result.output)
        XCTAssertEqual(layouts.compactMap { $0["layout"] as? String }, ["plain", "nChw8c", "nChw16c"])
        for layout in layouts {
            XCTAssertGreaterThan(layout["ratio"] as? Double ?? 0, 0, "\(layout)")
            XCTAssertFalse((layout["onednn_implementation"] as? String ?? "").isEmpty, "\(layout)")
        }
    }
}
