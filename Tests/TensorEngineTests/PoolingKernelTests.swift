import TensorEngine
import XCTest

/// The engine's pooling kernels against oneDNN's pooling primitives, a second implementation,
/// in every layout the engine uses, on windows that overlap, are padded and leave rows over.
final class PoolingKernelTests: XCTestCase {
    private let windows: [(kernel: Int, stride: Int, padding: Int)] = [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)]
    private let layouts: [Layout] = [.plain, .channelBlocked(8), .channelBlocked(16)]

    /// The maxima are the same values; where windows overlap, an input's gradient is a sum
    /// taken in another order, which rounds differently.
    func testMaxPoolingMatchesOneDNN() {
        compareWithOneDNN(.max, outputTolerance: 0, gradientTolerance: 1e-6)
    }

    func testAveragePoolingMatchesOneDNN() {
        compareWithOneDNN(.average, outputTolerance: 1e-6, gradientTolerance: 1e-6)
    }

    private func compareWithOneDNN(_ kind: PoolingKind, outputTolerance: Float, gradientTolerance: Float) {
        let shape = [3, 6, 7, 9]  // 6 channels leave padding lanes in both blocked layouts
        for window in windows {
            for layout in layouts {
                let what = "\(kind) \(window) in \(layout)"
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
        }
    }

    /// As PyTorch: a NaN in a window is its maximum, and the gradient goes to it.
    func testMaxPoolingPropagatesNaN() {
        for layout in layouts {
            let values = Tensor.uniform([1, 2, 4, 4], low: -1, high: 1, generator: Philox(seed: 5))
            values.pointer[5] = .nan  // channel 0, row 1, column 1: the first window
            let x = values.converted(to: layout)
            x.requiresGrad = true
            let y = x.maxPool2d(kernel: 2)
            let out = y.toArray()
            XCTAssertTrue(out[0].isNaN, "\(layout): \(out)")
            XCTAssertFalse(out[1...].contains { $0.isNaN }, "\(layout): \(out)")
            y.sum().backward()
            let dx = x.grad!.toArray()
            XCTAssertEqual(dx[5], 1, "\(layout): the gradient goes to the NaN")
            XCTAssertEqual(dx[0] + dx[1] + dx[4], 0, "\(layout): \(dx)")
        }
    }

    private func assertClose(_ actual: [Float], _ expected: [Float], _ tolerance: Float, _ what: String) {
        XCTAssertEqual(actual.count, expected.count, what)
        let worst = zip(actual, expected).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, what)
    }

    private func assertPaddingLanesZero(_ t: Tensor, _ what: String) {
        guard case .channelBlocked(let block) = t.layout else { return }
        let (n, c, pixels) = (t.shape[0], t.shape[1], t.shape[2] * t.shape[3])
        let blocks = (c + block - 1) / block
        for image in 0..<n {
            for pixel in 0..<pixels {
                for lane in (c - (blocks - 1) * block)..<block {
                    let offset = ((image * blocks + blocks - 1) * pixels + pixel) * block + lane
                    XCTAssertEqual(t.pointer[offset], 0, "padding lane \(lane) of \(what)")
                }
            }
        }
    }
}
