import CEngineKernels
import TensorEngine
import TestSupport
import XCTest

/// The engine's Winograd F(4x4, 3x3) kernels against the convolution's formula summed in
/// double: every pass (the forward with and without a residual to add), in both
/// channel-blocked layouts, on the AVX-512 (where the CPU has it), AVX2 and generic code, for
/// each padding they take, partial tiles and inputs of several chunks of tiles.
final class WinogradKernelTests: XCTestCase {
    override func tearDown() {
        EngineKernels.allowVectorExtensions(true)
        EngineKernels.allowAVX512(true)
        super.tearDown()
    }

    /// The instruction sets to run: the widest this CPU has, at most AVX2, generic.
    private let instructionSets: [(name: String, avx2: Bool, avx512: Bool)] = [
        ("widest", true, true), ("AVX2", true, false), ("generic", false, false),
    ]

    private struct Shape {
        let batch: Int, channels: Int, height: Int, width: Int, outputs: Int, padding: Int
        var outputHeight: Int { height + 2 * padding - 2 }
        var outputWidth: Int { width + 2 * padding - 2 }
        var input: [Int] { [batch, channels, height, width] }
        var output: [Int] { [batch, outputs, outputHeight, outputWidth] }
        var weight: [Int] { [outputs, channels, 3, 3] }
    }

    private let shapes = [
        Shape(batch: 2, channels: 16, height: 8, width: 8, outputs: 16, padding: 1),    // whole tiles
        Shape(batch: 3, channels: 16, height: 10, width: 7, outputs: 32, padding: 0),   // partial tiles
        Shape(batch: 2, channels: 32, height: 5, width: 6, outputs: 16, padding: 2),    // the widest padding
        Shape(batch: 5, channels: 16, height: 30, width: 26, outputs: 48, padding: 1),  // several chunks, 48 = 3 groups of 8
    ]

    /// Sums of products in double, NCHW and OIHW.
    private func reference(_ s: Shape, x: [Float], w: [Float], bias: [Float], dy: [Float]) -> (y: [Float], dx: [Float], dw: [Float]) {
        var y = [Double](repeating: 0, count: s.output.reduce(1, *))
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        for n in 0..<s.batch {
            for o in 0..<s.outputs {
                for i in 0..<s.outputHeight {
                    for j in 0..<s.outputWidth {
                        let out = ((n * s.outputs + o) * s.outputHeight + i) * s.outputWidth + j
                        var sum = Double(bias[o])
                        for c in 0..<s.channels {
                            for a in 0..<3 {
                                let row = i + a - s.padding
                                guard row >= 0 && row < s.height else { continue }
                                for b in 0..<3 {
                                    let column = j + b - s.padding
                                    guard column >= 0 && column < s.width else { continue }
                                    let input = ((n * s.channels + c) * s.height + row) * s.width + column
                                    let tap = ((o * s.channels + c) * 3 + a) * 3 + b
                                    sum += Double(w[tap]) * Double(x[input])
                                    dx[input] += Double(w[tap]) * Double(dy[out])
                                    dw[tap] += Double(x[input]) * Double(dy[out])
                                }
                            }
                        }
                        y[out] = sum
                    }
                }
            }
        }
        return (y.map { Float($0) }, dx.map { Float($0) }, dw.map { Float($0) })
    }

    /// The largest difference as a fraction of the largest expected value.
    private func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
        XCTAssertEqual(actual.count, expected.count)
        let scale = expected.map(Swift.abs).max() ?? 1
        return zip(actual, expected).map { Swift.abs($0 - $1) }.max()! / max(scale, 1e-30)
    }

    func testEveryPassMatchesTheConvolutionSummedInDouble() {
        var worst: Float = 0
        for (index, s) in shapes.enumerated() {
            let seed = UInt64(40 + 4 * index)
            let x = Tensor.uniform(s.input, low: -1, high: 1, generator: Philox(seed: seed))
            let w = Tensor.uniform(s.weight, low: -1, high: 1, generator: Philox(seed: seed + 1))
            let bias = Tensor.uniform([s.outputs], low: -1, high: 1, generator: Philox(seed: seed + 2))
            let dy = Tensor.uniform(s.output, low: -1, high: 1, generator: Philox(seed: seed + 3))
            let expected = reference(s, x: x.toArray(), w: w.toArray(), bias: bias.toArray(), dy: dy.toArray())
            let expectedBias = (0..<s.outputs).map { o in
                Float((0..<s.batch).reduce(0.0) { total, n in
                    let plane = s.outputHeight * s.outputWidth, start = (n * s.outputs + o) * plane
                    return total + dy.toArray()[start..<start + plane].reduce(0.0) { $0 + Double($1) }
                })
            }
            for lanes in [8, 16] where s.channels % lanes == 0 && s.outputs % lanes == 0 {
                var results: [String: [[Float]]] = [:]
                for set in instructionSets {
                    EngineKernels.allowVectorExtensions(set.avx2)
                    EngineKernels.allowAVX512(set.avx512)
                    defer {
                        EngineKernels.allowVectorExtensions(true)
                        EngineKernels.allowAVX512(true)
                    }
                    if !set.avx512 { XCTAssertFalse(EngineKernels.usesAVX512) }
                    if !set.avx2 { XCTAssertFalse(EngineKernels.usesAVX2) }
                    let what = "\(s) nChw\(lanes)c \(set.name)\(set.avx512 && EngineKernels.usesAVX512 ? " (AVX-512)" : "")"
                    let layout = Layout.channelBlocked(lanes)
                    let blockedX = x.converted(to: layout), blockedDy = dy.converted(to: layout)
                    let y = Tensor.zeros(s.output, layout: layout), dx = Tensor.zeros(s.input, layout: layout)
                    let dw = Tensor.zeros(s.weight), db = Tensor.zeros([s.outputs])
                    let d = [s.batch, s.channels, s.height, s.width, s.outputs, s.outputHeight, s.outputWidth, s.padding, lanes].map { Int32($0) }
                    XCTAssertEqual(dfkd_winograd_forward(blockedX.pointer, w.pointer, bias.pointer, nil, y.pointer,
                                                         d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]), 0)
                    // With a residual the output is the convolution's plus the residual, rounded
                    // as that one addition: bit for bit what adding it afterwards gives.
                    let residual = Tensor.uniform(s.output, low: -1, high: 1, generator: Philox(seed: seed + 5)).converted(to: layout)
                    let summed = Tensor.zeros(s.output, layout: layout)
                    XCTAssertEqual(dfkd_winograd_forward(blockedX.pointer, w.pointer, bias.pointer, residual.pointer, summed.pointer,
                                                         d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]), 0)
                    let addedAfter = zip(y.converted(to: .plain).toArray(), residual.converted(to: .plain).toArray()).map { $0 + $1 }
                    XCTAssertEqual(summed.converted(to: .plain).toArray(), addedAfter, "output plus residual, \(what)")
                    XCTAssertEqual(dfkd_winograd_backward_data(blockedDy.pointer, w.pointer, dx.pointer,
                                                               d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]), 0)
                    XCTAssertEqual(dfkd_winograd_backward_weights(blockedX.pointer, blockedDy.pointer, dw.pointer, db.pointer,
                                                                  d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]), 0)
                    let passes = [y.converted(to: .plain).toArray(), dx.converted(to: .plain).toArray(), dw.toArray(), db.toArray()]
                    results[set.name] = passes
                    let errors = [("output", relativeError(passes[0], expected.y)),
                                  ("input gradient", relativeError(passes[1], expected.dx)),
                                  ("weight gradient", relativeError(passes[2], expected.dw)),
                                  ("bias gradient", relativeError(passes[3], expectedBias))]
                    for (part, error) in errors {
                        // Float rounding, which the transforms' coefficients (up to 8 and 1/24)
                        // magnify: the worst seen was 6.8e-6 of the largest value, the same on
                        // every CPU (the code is fixed per instruction set); a wrong coefficient
                        // anywhere is above 1e-2.
                        XCTAssertLessThan(error, 3e-5, "\(part), \(what)")
                        worst = max(worst, error)
                    }
                }
                // A lane computes the same operations in the same order whatever the vector
                // width: the AVX-512 code gives the AVX2 code's bits.
                for (part, (widest, avx2)) in zip(["output", "input gradient", "weight gradient", "bias gradient"],
                                                  zip(results["widest"]!, results["AVX2"]!)) {
                    XCTAssertEqual(widest.count, avx2.count)
                    if let i = widest.indices.first(where: { widest[$0].bitPattern != avx2[$0].bitPattern }) {
                        XCTFail("\(part), \(s) nChw\(lanes)c: value \(i) is \(widest[i]) on the widest code, \(avx2[i]) on AVX2")
                    }
                }
            }
        }
        print("Winograd kernels: worst difference \(worst) of the largest value")
    }

    func testWRNShapesRunOnWinogradWhenForced() {
        let forced = ConvolutionKernels.implementations(inputShape: [8, 32, 16, 16], weightShape: [32, 32, 3, 3],
                                                        geometry: ConvolutionGeometry(padding: 1), policy: .forced(.engineWinograd))
        XCTAssertEqual(forced, Array(repeating: "engine:winograd", count: 3))
        // Stride 2, a 5x5 kernel or an image's few channels are not Winograd's.
        for (input, weight, geometry) in [([8, 32, 16, 16], [32, 32, 3, 3], ConvolutionGeometry(stride: 2, padding: 1)),
                                          ([8, 32, 16, 16], [32, 32, 5, 5], ConvolutionGeometry(padding: 2)),
                                          ([8, 3, 16, 16], [16, 3, 3, 3], ConvolutionGeometry(padding: 1))] {
            let names = ConvolutionKernels.implementations(inputShape: input, weightShape: weight, geometry: geometry,
                                                           policy: .forced(.engineWinograd))
            XCTAssertFalse(names.contains("engine:winograd"), "\(input) * \(weight) \(geometry): \(names)")
        }
    }
}
