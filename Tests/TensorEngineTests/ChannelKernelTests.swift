import TensorEngine
import TestSupport
import XCTest

/// The C kernels of batch normalisation, the rectifiers and sums. Each rounds as the scalar
/// formula does, in the same order, so batch norm gives the same bits in every layout and on
/// every instruction set; the goldens and finite-difference tests check what it computes.
final class ChannelKernelTests: XCTestCase {
    override func tearDown() {
        EngineKernels.allowVectorExtensions(true)
        super.tearDown()
    }

    private struct BatchNormResult: Equatable {
        var output: [Float], dx: [Float], dWeight: [Float], dBias: [Float], runningMean: [Float], runningVariance: [Float]
    }

    /// How a run of batchNorm(...) ends: as batch norm, with a ReLU after it, or with the ReLU
    /// in the same op.
    private enum Rectifier { case none, separate, fused }

    /// 19 channels leave padding lanes in both blocked layouts and two vectors of 8 lanes per
    /// 16-lane block; 5 x 7 pixels; a mean of about 3 makes the deviations matter. The running
    /// statistics start near the batch's, so that evaluation mode too gives outputs on both
    /// sides of zero.
    private func batchNorm(layout: Layout, vector: Bool, training: Bool = true, rectifier: Rectifier = .none,
                           what: String) -> BatchNormResult {
        EngineKernels.allowVectorExtensions(vector)
        defer { EngineKernels.allowVectorExtensions(true) }
        let shape = [3, 19, 5, 7]
        let x = (Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 11)) + 3).converted(to: layout)
        x.requiresGrad = true
        let weight = Tensor.uniform([19], low: 0.5, high: 1.5, generator: Philox(seed: 12))
        let bias = Tensor.uniform([19], low: -0.5, high: 0.5, generator: Philox(seed: 13))
        weight.requiresGrad = true
        bias.requiresGrad = true
        let running = RunningStatistics(mean: Tensor.full([19], 3), variance: Tensor.full([19], 0.4))
        let y: Tensor
        switch rectifier {
        case .none: y = Tensor.batchNorm(x, weight: weight, bias: bias, running: running, training: training)
        case .separate: y = Tensor.batchNorm(x, weight: weight, bias: bias, running: running, training: training).relu()
        case .fused: y = Tensor.batchNorm(x, weight: weight, bias: bias, running: running, training: training, rectified: true)
        }
        XCTAssertEqual(y.layout, layout, what)
        let dy = Tensor.uniform(shape, low: -1, high: 1, generator: Philox(seed: 14)).converted(to: layout)
        y.backward(gradient: dy)
        assertPaddingLanesZero(y, "output, \(what)")
        assertPaddingLanesZero(x.grad!, "input gradient, \(what)")
        return BatchNormResult(output: y.toArray(), dx: x.grad!.toArray(), dWeight: weight.grad!.toArray(),
                               dBias: bias.grad!.toArray(), runningMean: running.mean.toArray(),
                               runningVariance: running.variance.toArray())
    }

    func testBatchNormGivesTheSameBitsInEveryLayoutAndOnEveryInstructionSet() {
        let reference = batchNorm(layout: .plain, vector: false, what: "plain, generic")
        forEveryLayoutAndKernelSet { layout, vector, what in
            let result = batchNorm(layout: layout, vector: vector, what: what)
            XCTAssertEqual(result.output, reference.output, "output, \(what)")
            XCTAssertEqual(result.dx, reference.dx, "input gradient, \(what)")
            XCTAssertEqual(result.dWeight, reference.dWeight, "weight gradient, \(what)")
            XCTAssertEqual(result.dBias, reference.dBias, "bias gradient, \(what)")
            XCTAssertEqual(result.runningMean, reference.runningMean, "running mean, \(what)")
            XCTAssertEqual(result.runningVariance, reference.runningVariance, "running variance, \(what)")
        }
    }

    /// Values of mean about 1000 and spread about 1 (19 channels, odd planes): float32's
    /// E[x^2] - E[x]^2 would round E[x^2] (about 1e6) to 0.06, a fifth of the variance of
    /// 0.33; each image summed about its own mean and combined in double stays within 1e-5 of
    /// the variance summed in double.
    private let offsetShape = [6, 19, 5, 7]
    private func offsetValues() -> [Float] {
        let spread = Tensor.uniform(offsetShape, low: -1, high: 1, generator: Philox(seed: 21)).toArray()
        let plane = offsetShape[2] * offsetShape[3]
        return spread.enumerated().map { index, value in value + 1000 + Float(index / plane % offsetShape[1]) }
    }

    func testChannelMomentsHoldTheirPrecisionWhereTheMeanDwarfsTheSpread() {
        let values = offsetValues(), plane = offsetShape[2] * offsetShape[3], channels = offsetShape[1]
        let reference: [(mean: Double, variance: Double)] = (0..<channels).map { channel in
            let picked = values.indices.filter { $0 / plane % channels == channel }.map { Double(values[$0]) }
            let mean = picked.reduce(0, +) / Double(picked.count)
            return (mean, picked.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(picked.count))
        }
        var first: (mean: [Float], variance: [Float])?
        forEveryLayoutAndKernelSet { layout, vector, what in
            EngineKernels.allowVectorExtensions(vector)
            defer { EngineKernels.allowVectorExtensions(true) }
            let (mean, variance) = Tensor(shape: offsetShape, values: values).converted(to: layout).channelMoments()
            for channel in 0..<channels {
                XCTAssertEqual(Double(mean.toArray()[channel]), reference[channel].mean, accuracy: 1e-7 * reference[channel].mean, what)
                XCTAssertEqual(Double(variance.toArray()[channel]), reference[channel].variance, accuracy: 1e-5 * reference[channel].variance,
                               "channel \(channel), \(what)")
            }
            if let first {
                XCTAssertEqual(mean.toArray(), first.mean, "the same bits, \(what)")
                XCTAssertEqual(variance.toArray(), first.variance, "the same bits, \(what)")
            } else {
                first = (mean.toArray(), variance.toArray())
            }
        }
    }

    /// Two parts of a batch (2 and 4 images) whose sums are exchanged as two processes'
    /// collectives would exchange them give the whole batch's moments.
    func testChannelMomentsOfPartsCombineIntoTheWholeBatchs() {
        let values = offsetValues(), split = 2 * offsetShape[1] * offsetShape[2] * offsetShape[3]
        let whole = Tensor(shape: offsetShape, values: values).channelMoments()
        let parts = [Tensor(shape: [2] + offsetShape.dropFirst(), values: Array(values[..<split])),
                     Tensor(shape: [4] + offsetShape.dropFirst(), values: Array(values[split...]))]
        // What each part hands to its first and second collective, the other part's answers
        // given: the first part's sums, then the second part's two contributions.
        func contributions(of part: Tensor, answers: [[Double]]) -> [[Double]] {
            var handed: [[Double]] = []
            _ = part.channelMoments(partition: BatchPartition(samples: offsetShape[0]) { mine in
                defer { handed.append(mine) }
                return answers.count > handed.count ? zip(mine, answers[handed.count]).map(+) : mine
            })
            return handed
        }
        let firstSums = contributions(of: parts[0], answers: [])[0]
        let second = contributions(of: parts[1], answers: [firstSums])
        var call = 0
        let combined = parts[0].channelMoments(partition: BatchPartition(samples: offsetShape[0]) { mine in
            defer { call += 1 }
            return zip(mine, second[call]).map(+)
        })
        XCTAssertEqual(call, 2, "one collective for the sums, one for the deviations")
        for (part, (actual, expected)) in [("mean", (combined.mean, whole.mean)), ("variance", (combined.variance, whole.variance))] {
            for (a, e) in zip(actual.toArray(), expected.toArray()) { XCTAssertEqual(a, e, accuracy: 2e-6 * abs(e), part) }
        }
    }

    func testBatchNormWithItsReLUInOneOpGivesTheBitsOfBatchNormThenReLU() {
        for training in [true, false] {
            forEveryLayoutAndKernelSet { layout, vector, combination in
                let what = "\(training ? "training" : "evaluation"), \(combination)"
                let separate = batchNorm(layout: layout, vector: vector, training: training, rectifier: .separate, what: what)
                let fused = batchNorm(layout: layout, vector: vector, training: training, rectifier: .fused, what: what)
                // The ReLU must cut: a mask that passed everything or nothing would not be tested.
                let cut = separate.output.filter { $0 == 0 }.count
                XCTAssert(cut > separate.output.count / 4 && cut < separate.output.count * 3 / 4, "\(cut) zeros, \(what)")
                XCTAssertEqual(fused, separate, what)
            }
        }
    }

    /// 53 values: three 16-float vectors and a tail, with NaN, both zeros and infinities.
    private func specialValues(seed: UInt64) -> [Float] {
        var values = Tensor.uniform([53], low: -2, high: 2, generator: Philox(seed: seed)).toArray()
        for (offset, value) in [(0, Float.nan), (7, -0.0), (8, 0.0), (20, .infinity), (33, -.infinity), (50, .nan), (51, -0.0)] {
            values[offset] = value
        }
        return values
    }

    private func assertSameBits(_ actual: [Float], _ expected: [Float], _ what: String) {
        XCTAssertEqual(actual.map(\.bitPattern), expected.map(\.bitPattern), "\(what): \(actual) against \(expected)")
    }

    func testRectifiersAndSumsFollowTheirScalarFormulasOnEveryInstructionSet() {
        let values = specialValues(seed: 21), others = specialValues(seed: 22)
        let slope: Float = 0.2
        for vector in [true, false] {
            EngineKernels.allowVectorExtensions(vector)
            let what = vector ? "vector extensions" : "generic"
            let x = Tensor(shape: [53], values: values, requiresGrad: true)
            let relu = x.relu()
            // As Swift.max(x, 0): a NaN stays NaN, -0 becomes +0.
            assertSameBits(relu.toArray(), values.map { 0 >= $0 ? 0 : $0 }, "relu, \(what)")
            relu.backward(gradient: Tensor(shape: [53], values: others))
            let reluOutput = relu.toArray()
            assertSameBits(x.grad!.toArray(), zip(others, reluOutput).map { $1 > 0 ? $0 : 0 }, "relu gradient, \(what)")

            let z = Tensor(shape: [53], values: values, requiresGrad: true)
            let leaky = z.leakyRelu(slope: slope)
            assertSameBits(leaky.toArray(), values.map { $0 > 0 ? $0 : $0 * slope }, "leaky relu, \(what)")
            leaky.backward(gradient: Tensor(shape: [53], values: others))
            let leakyOutput = leaky.toArray()
            assertSameBits(z.grad!.toArray(), zip(others, leakyOutput).map { $1 > 0 ? $0 : $0 * slope }, "leaky relu gradient, \(what)")

            let sum = Tensor(shape: [53], values: values) + Tensor(shape: [53], values: others)
            assertSameBits(sum.toArray(), zip(values, others).map { $0 + $1 }, "sum, \(what)")
        }
    }
}
