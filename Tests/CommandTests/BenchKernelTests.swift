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
        XCTAssertEqual(convolutions.compactMap { $0["calls_per_step"] as? Int }, [1, 1, 1])
        for convolution in convolutions {
            for pass in ["forward", "backward_data", "backward_weights"] {
                XCTAssertGreaterThan(convolution[pass + "_gflops"] as? Double ?? 0, 0, "\(pass): \(convolution)")
                XCTAssertGreaterThan(convolution[pass + "_of_gemm"] as? Double ?? 0, 0, "\(pass): \(convolution)")
            }
            XCTAssertEqual((convolution["implementations"] as? [String])?.count, 3, "\(convolution)")
        }
    }

    func testAModelsStepWeighsEachConvolutionShapeByItsCalls() throws {
        let result = try DFKDCommand.run(["bench", "convs", "--model", "wrn-16-1", "--batch", "2", "--gemm-size", "128"] + quick)
        XCTAssertEqual(result.status, 0, result.output)
        let summary = try DFKDCommand.lastJSON(result.output)
        let convolutions = try XCTUnwrap(summary["convolutions"] as? [[String: Any]], result.output)
        var calls: [[Int]: Int] = [:]
        for convolution in convolutions {
            calls[try XCTUnwrap(convolution["weight"] as? [Int]), default: 0] += try XCTUnwrap(convolution["calls_per_step"] as? Int)
        }
        // WRN-16-1: the stem, then per group one block that changes width (two 3x3 and a 1x1
        // shortcut) and one that keeps it (two 3x3).
        XCTAssertEqual(calls, [[16, 3, 3, 3]: 1, [16, 16, 3, 3]: 4, [32, 16, 3, 3]: 1, [32, 16, 1, 1]: 1, [32, 32, 3, 3]: 3,
                               [64, 32, 3, 3]: 1, [64, 32, 1, 1]: 1, [64, 64, 3, 3]: 3], result.output)
        let gigaflops = try XCTUnwrap(summary["convolution_gflop"] as? Double)
        let perShape = convolutions.map { c -> Double in
            let (input, weight) = (c["input"] as! [Int], c["weight"] as! [Int])
            let stride = c["stride"] as! Int, padding = c["padding"] as! Int
            let out = (input[2] + 2 * padding - weight[2]) / stride + 1
            return Double(c["calls_per_step"] as! Int) * 2 * Double(input[0] * weight[0] * weight[1] * weight[2] * weight[3] * out * out)
        }
        // Forward, backward-data and backward-weights: as many multiply-adds each.
        XCTAssertEqual(gigaflops, 3 * perShape.reduce(0, +) / 1e9, accuracy: 1e-9)
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
