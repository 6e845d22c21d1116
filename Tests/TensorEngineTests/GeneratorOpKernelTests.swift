import TensorEngine
import TestSupport
import XCTest

/// The C kernels under the generators' own ops: nearest-neighbour upsampling and the
/// class-conditional scale and shift. Each gives the same bits in every layout and on every
/// instruction set, and the values of its scalar formula.
final class GeneratorOpKernelTests: XCTestCase {
    override func tearDown() {
        EngineKernels.allowVectorExtensions(true)
        super.tearDown()
    }

    /// 19 channels leave padding lanes in both blocked layouts; 5 x 7 pixels.
    private let shape = [3, 19, 5, 7]

    private func assertSameBits(_ actual: [Float], _ expected: [Float], _ what: String) {
        XCTAssertEqual(actual.count, expected.count, what)
        let differing = zip(actual, expected).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(what): \(differing) of \(actual.count) values differ")
    }

    func testUpsamplingRepeatsEachPixelAndSumsItsSquaresGradients() {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let values = Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 31)).toArray()
        let gradient = Tensor.uniform([n, c, 2 * h, 2 * w], low: -1, high: 1, generator: Philox(seed: 32)).toArray()
        func outputIndex(_ plane: Int, _ y: Int, _ x: Int) -> Int { (plane * 2 * h + y) * 2 * w + x }
        var expected = [Float](repeating: 0, count: gradient.count)
        var expectedGradient = [Float](repeating: 0, count: values.count)
        for plane in 0..<n * c {
            for y in 0..<h {
                for x in 0..<w {
                    let value = values[(plane * h + y) * w + x]
                    for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] { expected[outputIndex(plane, 2 * y + dy, 2 * x + dx)] = value }
                    let square = [(0, 0), (0, 1), (1, 0), (1, 1)].map { gradient[outputIndex(plane, 2 * y + $0.0, 2 * x + $0.1)] }
                    expectedGradient[(plane * h + y) * w + x] = ((square[0] + square[1]) + square[2]) + square[3]
                }
            }
        }
        forEveryLayoutAndKernelSet { layout, vector, what in
            EngineKernels.allowVectorExtensions(vector)
            let x = Tensor(shape: shape, values: values).converted(to: layout)
            x.requiresGrad = true
            let y = x.upsampledNearest2x()
            XCTAssertEqual(y.layout, layout, what)
            assertPaddingLanesZero(y, "output, \(what)")
            assertSameBits(y.toArray(), expected, "output, \(what)")
            y.backward(gradient: Tensor(shape: y.shape, values: gradient).converted(to: layout))
            assertPaddingLanesZero(x.grad!, "input gradient, \(what)")
            assertSameBits(x.grad!.toArray(), expectedGradient, "input gradient, \(what)")
        }
    }

    private struct ClassScaleShiftResult {
        var output: [Float], dx: [Float], dScale: [Float], dShift: [Float]
    }

    private let labels = [2, 0, 2]

    private func classScaleShift(layout: Layout, vector: Bool, what: String) -> ClassScaleShiftResult {
        EngineKernels.allowVectorExtensions(vector)
        defer { EngineKernels.allowVectorExtensions(true) }
        let x = Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 41)).converted(to: layout)
        x.requiresGrad = true
        let scale = Tensor.uniform([3, 19], low: 0.5, high: 1.5, generator: Philox(seed: 42))
        let shift = Tensor.uniform([3, 19], low: -0.5, high: 0.5, generator: Philox(seed: 43))
        scale.requiresGrad = true
        shift.requiresGrad = true
        let y = Tensor.classScaleShift(x, labels: labels, scale: scale, shift: shift)
        XCTAssertEqual(y.layout, layout, what)
        y.backward(gradient: Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 44)).converted(to: layout))
        assertPaddingLanesZero(y, "output, \(what)")
        assertPaddingLanesZero(x.grad!, "input gradient, \(what)")
        return ClassScaleShiftResult(output: y.toArray(), dx: x.grad!.toArray(), dScale: scale.grad!.toArray(),
                                     dShift: shift.grad!.toArray())
    }

    func testClassScaleShiftGivesTheSameBitsInEveryLayoutAndTheScalarFormulasValues() {
        let x = Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 41)).toArray()
        let scale = Tensor.uniform([3, 19], low: 0.5, high: 1.5, generator: Philox(seed: 42)).toArray()
        let shift = Tensor.uniform([3, 19], low: -0.5, high: 0.5, generator: Philox(seed: 43)).toArray()
        let dy = Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 44)).toArray()
        let pixels = shape[2] * shape[3]
        var output = [Float](repeating: 0, count: x.count), dx = output
        var dScale = [Double](repeating: 0, count: scale.count), dShift = dScale
        for (image, label) in labels.enumerated() {
            for channel in 0..<19 {
                let row = label * 19 + channel
                for pixel in 0..<pixels {
                    let at = (image * 19 + channel) * pixels + pixel
                    output[at] = scale[row] * x[at] + shift[row]
                    dx[at] = scale[row] * dy[at]
                    dScale[row] += Double(dy[at]) * Double(x[at])
                    dShift[row] += Double(dy[at])
                }
            }
        }
        let reference = classScaleShift(layout: .plain, vector: false, what: "plain, generic")
        assertSameBits(reference.output, output, "output against the formula")
        XCTAssertEqual(reference.dx, dx, "input gradient against the formula")
        for (actual, expected) in zip(reference.dScale + reference.dShift, dScale + dShift) {
            XCTAssertEqual(Double(actual), expected, accuracy: 1e-5 * max(1, abs(expected)), "parameter gradients against the formula")
        }
        // The class no label picks gets no gradient.
        XCTAssert(reference.dScale[19..<38].allSatisfy { $0 == 0 } && reference.dShift[19..<38].allSatisfy { $0 == 0 })
        forEveryLayoutAndKernelSet { layout, vector, what in
            let result = classScaleShift(layout: layout, vector: vector, what: what)
            assertSameBits(result.output, reference.output, "output, \(what)")
            assertSameBits(result.dx, reference.dx, "input gradient, \(what)")
            assertSameBits(result.dScale, reference.dScale, "scale gradient, \(what)")
            assertSameBits(result.dShift, reference.dShift, "shift gradient, \(what)")
        }
    }
}
