import TensorEngine
import TestSupport
import XCTest

/// The engine's pooling kernels against oneDNN's pooling primitives, a second implementation,
/// in every layout the engine uses, on windows that overlap, are padded and leave rows over,
/// and on 2 x 2 windows that tile the input (their own unrolled loops); each on the kernels'
/// AVX-512 and AVX2 versions where this CPU has them and on their generic versions.
final class PoolingKernelTests: XCTestCase {
    private let windows: [(kernel: Int, stride: Int, padding: Int)] = [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (3, 3, 0)]
    private let layouts: [Layout] = [.plain, .channelBlocked(8), .channelBlocked(16)]
    // 6 channels leave padding lanes in both blocked layouts; 7 x 9 leaves a row and a column
    // out of 2 x 2 windows, 8 x 10 is tiled by them and 9 x 12 by 3 x 3 windows at stride 3
    // (whose gradients are written without zeroing first).
    // Plain rows of 2 x 2 windows are pooled a vector of eight outputs at a time: 4 x 28 gives
    // rows of 14 (a second vector overlapping the first), 6 x 32 rows of exactly two.
    private let shapes = [[3, 6, 7, 9], [3, 6, 8, 10], [3, 6, 9, 12], [2, 3, 4, 28], [1, 2, 6, 32]]

    override func tearDown() {
        EngineKernels.allowVectorExtensions(true)
        EngineKernels.allowAVX512(true)
        super.tearDown()
    }

    /// `body` on the widest C kernels this CPU has, on AVX2 and on the generic ones.
    private func onEachInstructionSet(_ body: (String) -> Void) {
        for (vector, avx512) in [(true, true), (true, false), (false, false)] {
            EngineKernels.allowVectorExtensions(vector)
            EngineKernels.allowAVX512(avx512)
            if !avx512 { XCTAssertFalse(EngineKernels.usesAVX512) }
            if !vector { XCTAssertFalse(EngineKernels.usesAVX2) }
            body(!vector ? "generic" : avx512 ? "widest vector extensions" : "at most AVX2")
        }
        EngineKernels.allowVectorExtensions(true)
        EngineKernels.allowAVX512(true)
    }

    /// The maxima are the same values; where windows overlap, an input's gradient is a sum
    /// taken in another order, which rounds differently.
    func testMaxPoolingMatchesOneDNN() {
        compareWithOneDNN(.max, outputTolerance: 0, gradientTolerance: 1e-6)
    }

    func testAveragePoolingMatchesOneDNN() {
        compareWithOneDNN(.average, outputTolerance: 1e-6, gradientTolerance: 1e-6)
    }

    private func compareWithOneDNN(_ kind: PoolingKind, outputTolerance: Float, gradientTolerance: Float) {
        onEachInstructionSet { instructions in
            for shape in shapes {
                for window in windows {
                    for layout in layouts {
                        compare(kind, shape, window, layout, outputTolerance, gradientTolerance,
                                "\(kind) \(window) over \(shape) in \(layout), \(instructions)")
                    }
                }
            }
        }
    }

    private func compare(_ kind: PoolingKind, _ shape: [Int], _ window: (kernel: Int, stride: Int, padding: Int), _ layout: Layout,
                         _ outputTolerance: Float, _ gradientTolerance: Float, _ what: String) {
        let x = Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 3)).converted(to: layout)
        x.requiresGrad = true
        let y = kind == .max ? x.maxPool2d(kernel: window.kernel, stride: window.stride, padding: window.padding)
                             : x.avgPool2d(kernel: window.kernel, stride: window.stride, padding: window.padding)
        let dy = Tensor.uniform(y.shape, low: -1, high: 1, generator: Philox(seed: 4)).converted(to: y.layout)
        y.backward(gradient: dy)

        let reference = OneDNNPooling(inputShape: shape, layout: layout, kind: kind,
                                      kernel: window.kernel, stride: window.stride, padding: window.padding)
        XCTAssertEqual(y.shape, reference.outputShape, what)
        XCTAssertEqual(y.layout, layout, "pooling keeps the input's layout: \(what)")
        let expected = Tensor.zeros(reference.outputShape, layout: layout), expectedDx = Tensor.zeros(shape, layout: layout)
        reference.forward(x.detached(), into: expected)
        reference.backward(dy, into: expectedDx)
        assertClose(y.toArray(), expected.toArray(), outputTolerance, "output of \(what)")
        assertClose(x.grad!.toArray(), expectedDx.toArray(), gradientTolerance, "input gradient of \(what)")
        assertPaddingLanesZero(y, what)
        assertPaddingLanesZero(x.grad!, what)
    }

    /// As PyTorch: a NaN in a window is its maximum, the last one if there are several, and the
    /// gradient goes to it; equal values send it to the first of them. Rows of 8 outputs, so
    /// that plain tensors take their vectorised loops too.
    func testMaxPoolingPropagatesNaNAndBreaksTiesAsPyTorch() {
        let (height, width) = (4, 16)
        func at(_ channel: Int, _ row: Int, _ column: Int) -> Int { (channel * height + row) * width + column }
        let outputPlane = height / 2 * width / 2
        onEachInstructionSet { instructions in
            for layout in layouts {
                // Channel 0: NaN at row 1, column 1 of the first window. Channel 1: NaN at rows 0
                // and 1, column 0 of the first window (the last, row 1, takes the gradient);
                // its second window holds four equal values.
                let values = Tensor.uniform([1, 2, height, width], low: -1, high: 1, generator: Philox(seed: 5))
                values.pointer[at(0, 1, 1)] = .nan
                values.pointer[at(1, 0, 0)] = .nan
                values.pointer[at(1, 1, 0)] = .nan
                let equal = [at(1, 0, 2), at(1, 0, 3), at(1, 1, 2), at(1, 1, 3)]
                for offset in equal { values.pointer[offset] = 0.5 }
                let x = values.converted(to: layout)
                x.requiresGrad = true
                let y = x.maxPool2d(kernel: 2)
                let what = "\(layout), \(instructions)"
                let out = y.toArray()
                XCTAssertTrue(out[0].isNaN && out[outputPlane].isNaN, "\(what): \(out)")
                XCTAssertEqual(out[outputPlane + 1], 0.5, what)
                XCTAssertEqual(out.filter(\.isNaN).count, 2, "\(what): \(out)")
                y.sum().backward()
                let dx = x.grad!.toArray()
                XCTAssertEqual(dx[at(0, 1, 1)], 1, "\(what): the gradient goes to the NaN")
                XCTAssertEqual(dx[at(0, 0, 0)] + dx[at(0, 0, 1)] + dx[at(0, 1, 0)], 0, "\(what): \(dx)")
                XCTAssertEqual([at(1, 0, 0), at(1, 0, 1), at(1, 1, 0), at(1, 1, 1)].map { dx[$0] }, [0, 0, 1, 0], "\(what): to the last NaN")
                XCTAssertEqual(equal.map { dx[$0] }, [1, 0, 0, 0], "\(what): to the first of equal values")
            }
        }
    }

    private func assertClose(_ actual: [Float], _ expected: [Float], _ tolerance: Float, _ what: String) {
        XCTAssertEqual(actual.count, expected.count, what)
        let worst = zip(actual, expected).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, what)
    }
}
