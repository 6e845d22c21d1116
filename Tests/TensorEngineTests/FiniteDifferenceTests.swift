import TensorEngine
import TestSupport
import XCTest

/// Every differentiable op's backward against central finite differences. Inputs are drawn
/// away from kinks (|x| > step) where an op has one.
final class FiniteDifferenceTests: XCTestCase {
    private func input(_ shape: [Int], _ seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
        GradientCheck.input(shape, seed: seed, low: low, high: high)
    }

    /// Values in ±[0.1, 1], so kinks at zero are at least 0.1 away.
    private func awayFromZero(_ shape: [Int], _ seed: UInt64) -> Tensor {
        let t = input(shape, seed)
        let p = t.pointer
        for i in 0..<t.count { p[i] = p[i] >= 0 ? 0.1 + 0.9 * p[i] : -0.1 + 0.9 * p[i] }
        return t
    }

    func testUnaryOps() {
        GradientCheck.check([awayFromZero([2, 3, 4], 1)]) { $0[0].relu() }
        GradientCheck.check([awayFromZero([2, 3, 4], 2)]) { $0[0].leakyRelu(slope: 0.2) }
        GradientCheck.check([input([2, 5], 3)]) { $0[0].tanh() }
        GradientCheck.check([input([2, 5], 4)]) { $0[0].sigmoid() }
        GradientCheck.check([input([2, 5], 5)]) { $0[0].exp() }
        GradientCheck.check([input([2, 5], 6, low: 0.5, high: 2)]) { $0[0].log() }
        GradientCheck.check([input([2, 5], 7, low: 0.5, high: 2)]) { $0[0].sqrt() }
        GradientCheck.check([awayFromZero([2, 5], 8)]) { $0[0].abs() }
        GradientCheck.check([input([2, 5], 9)]) { $0[0].squared() }
        GradientCheck.check([input([2, 5], 10)]) { ($0[0] * 3 + 1) / 2 - 0.5 }
        GradientCheck.check([input([2, 5], 11)]) { 1 - (-$0[0]) }
    }

    /// The straight-through sign's gradient is that of clamp(x, -1, 1); FD of sign itself is 0.
    func testSignStraightThroughMatchesClampDerivative() {
        let x = input([3, 4], 12, low: -2, high: 2)
        let p = x.pointer
        for i in 0..<x.count where Swift.abs(Swift.abs(p[i]) - 1) < 0.05 { p[i] += 0.1 }
        let weights = Tensor.uniform([3, 4], low: -1, high: 1, generator: Philox(seed: 5))
        (x.signStraightThrough() * weights).sum().backward()
        let expected = zip(x.toArray(), weights.toArray()).map { Swift.abs($0) <= 1 ? $1 : 0 }
        XCTAssertEqual(x.grad!.toArray(), expected)
        XCTAssertEqual(x.signStraightThrough().toArray(), x.toArray().map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) })
    }

    func testBinaryOpsWithBroadcasting() {
        GradientCheck.check([input([2, 3], 20), input([2, 3], 21)]) { $0[0] + $0[1] }
        GradientCheck.check([input([2, 3], 22), input([3], 23)]) { $0[0] - $0[1] }
        GradientCheck.check([input([2, 3, 4], 24), input([3, 1], 25)]) { $0[0] * $0[1] }
        GradientCheck.check([input([2, 3], 26), input([2, 1], 27, low: 0.5, high: 2)]) { $0[0] / $0[1] }
    }

    /// An op defined outside the engine: here a cumulative sum over the rows (its gradient
    /// is the reversed cumulative sum), reshaped to a column.
    func testCustomOpRunsItsOwnBackwardRule() {
        let x = GradientCheck.input([3, 2], seed: 41)
        GradientCheck.check([x]) { inputs in
            inputs[0].customOp("cumulative sum", outputShape: [6, 1], forward: { values in
                var total: Float = 0
                return values.map { total += $0; return total }
            }, backward: { gradient in
                var total: Float = 0
                return gradient.reversed().map { total += $0; return total }.reversed()
            }).squared()
        }
    }

    func testReductionsAndSoftmax() {
        GradientCheck.check([input([2, 3, 4], 30)]) { $0[0].sum(axes: [1]) }
        GradientCheck.check([input([2, 3, 4], 31)]) { $0[0].mean(axes: [0, 2], keepDims: true) }
        GradientCheck.check([input([2, 3, 4], 32)]) { $0[0].mean() }
        GradientCheck.check([input([3, 5], 33)]) { $0[0].softmax() }
        GradientCheck.check([input([3, 5], 34)]) { $0[0].logSoftmax() }
        GradientCheck.check([input([3, 5], 35)]) { $0[0].l2Normalized() }
    }

    func testMatrixProductsAndLinear() {
        GradientCheck.check([input([3, 4], 40), input([4, 2], 41)]) { Tensor.matmul($0[0], $0[1]) }
        GradientCheck.check([input([4, 3], 42), input([2, 4], 43)]) { Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) }
        GradientCheck.check([input([3, 4], 44), input([2, 4], 45)]) { Tensor.matmul($0[0], $0[1], transposeB: true) }
        GradientCheck.check([input([4, 3], 46), input([4, 2], 47)]) { Tensor.matmul($0[0], $0[1], transposeA: true) }
        GradientCheck.check([input([3, 4], 48), input([5, 4], 49), input([5], 50)]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
    }

    func testConvolutions() {
        // Plain and blocked activations, stride, padding, bias, groups and depthwise.
        GradientCheck.check([input([2, 3, 6, 6], 60), input([4, 3, 3, 3], 61), input([4], 62)]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], geometry: ConvolutionGeometry(stride: 1, padding: 1))
        }
        GradientCheck.check([input([2, 8, 7, 7], 63), input([16, 8, 3, 3], 64)]) {
            Tensor.conv2d($0[0], weight: $0[1], geometry: ConvolutionGeometry(stride: 2, padding: 1))
        }
        GradientCheck.check([input([1, 8, 5, 5], 65), input([8, 4, 3, 3], 66)]) {
            Tensor.conv2d($0[0], weight: $0[1], geometry: ConvolutionGeometry(padding: 1, groups: 2))
        }
        GradientCheck.check([input([1, 8, 5, 5], 67), input([8, 1, 3, 3], 68), input([8], 69)]) {
            Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], geometry: ConvolutionGeometry(padding: 1, groups: 8))
        }
        // A chain: the second convolution reads the first one's blocked output.
        GradientCheck.check([input([2, 3, 6, 6], 70), input([10, 3, 3, 3], 71), input([5, 10, 1, 1], 72)]) {
            Tensor.conv2d(Tensor.conv2d($0[0], weight: $0[1], geometry: ConvolutionGeometry(padding: 1)), weight: $0[2])
        }
    }

    func testPooling() {
        // Distinct values keep the max away from ties.
        let x = input([2, 3, 6, 6], 80)
        for i in 0..<x.count { x.pointer[i] = Float((i * 37) % x.count) / Float(x.count) }
        GradientCheck.check([x]) { $0[0].maxPool2d(kernel: 2) }
        // Overlapping, padded windows; values 0.05 apart, more than twice the step.
        let overlapping = input([1, 2, 7, 7], 84)
        for i in 0..<overlapping.count { overlapping.pointer[i] = Float((i * 37) % overlapping.count) * 0.05 }
        GradientCheck.check([overlapping]) { $0[0].maxPool2d(kernel: 3, stride: 2, padding: 1) }
        GradientCheck.check([input([2, 3, 7, 7], 81)]) { $0[0].avgPool2d(kernel: 3, stride: 2, padding: 1) }
        GradientCheck.check([input([2, 3, 4, 5], 82)]) { $0[0].globalAveragePooled() }
        GradientCheck.check([input([2, 3, 3, 2], 83)]) { $0[0].upsampledNearest2x() }
    }

    func testBlockedLayoutOpsThroughAConvolution() {
        // 10 output channels: blocked with padding lanes, which every op must keep at zero.
        let weight = input([10, 3, 3, 3], 90)
        func trunk(_ x: Tensor) -> Tensor { Tensor.conv2d(x, weight: weight, geometry: ConvolutionGeometry(padding: 1)) }
        GradientCheck.check([input([2, 3, 4, 4], 91)]) { trunk($0[0]).upsampledNearest2x() }
        GradientCheck.check([input([2, 3, 4, 4], 92)]) { trunk($0[0]).globalAveragePooled() }
        GradientCheck.check([input([2, 3, 4, 4], 97)]) { trunk($0[0]).avgPool2d(kernel: 3, stride: 2, padding: 1) }
        GradientCheck.check([input([2, 3, 4, 4], 93)]) { trunk($0[0]).tanh().sigmoid().flattened() }
        GradientCheck.check([input([2, 3, 4, 4], 94), input([10], 95), input([10], 96)]) {
            Tensor.batchNorm(trunk($0[0]), weight: $0[1], bias: $0[2], running: nil, training: true)
        }
    }

    func testBatchNorm() {
        let mean = Tensor(shape: [3], values: [0.1, -0.2, 0.3]), variance = Tensor(shape: [3], values: [0.5, 1.5, 2])
        GradientCheck.check([input([4, 3, 2, 2], 100), input([3], 101), input([3], 102)]) {
            Tensor.batchNorm($0[0], weight: $0[1], bias: $0[2], running: nil, training: true)
        }
        GradientCheck.check([input([4, 3, 2, 2], 103)]) {
            Tensor.batchNorm($0[0], weight: nil, bias: nil, running: nil, training: true)
        }
        GradientCheck.check([input([4, 3, 2, 2], 104), input([3], 105), input([3], 106)]) {
            Tensor.batchNorm($0[0], weight: $0[1], bias: $0[2],
                             running: RunningStatistics(mean: mean, variance: variance), training: false)
        }
    }

    /// Batch norm with its ReLU in one op. Every normalised value stays at least 0.03 from the
    /// ReLU's kink under the steps: each channel holds pairs x, -x with |x| >= 0.1 (mean 0),
    /// and the bias starts at 0.
    func testBatchNormWithReLU() {
        let x = awayFromZero([4, 3, 2, 2], 107)
        for image in 2..<4 { for i in 0..<12 { x.pointer[image * 12 + i] = -x.pointer[(image - 2) * 12 + i] } }
        let mean = Tensor(shape: [3], values: [0, 0, 0]), variance = Tensor(shape: [3], values: [0.5, 1.5, 2])
        for training in [true, false] {
            GradientCheck.check([x, input([3], 108, low: 0.5, high: 1.5), input([3], 109, low: 0, high: 0)]) {
                Tensor.batchNorm($0[0], weight: $0[1], bias: $0[2], running: training ? nil : RunningStatistics(mean: mean, variance: variance),
                                 training: training, rectified: true)
            }
        }
    }

    func testChannelMoments() {
        GradientCheck.check([input([3, 4, 2, 3], 110)]) { inputs in
            let (mean, variance) = inputs[0].channelMoments()
            return Tensor.concatenate([mean, variance], axis: 0)
        }
    }

    func testClassIndexedOpsAndShapes() {
        GradientCheck.check([input([4, 3, 2, 2], 120), input([5, 3], 121), input([5, 3], 122)]) {
            Tensor.classScaleShift($0[0], labels: [1, 4, 1, 0], scale: $0[1], shift: $0[2])
        }
        GradientCheck.check([input([5, 3], 123)]) { Tensor.embedding([2, 0, 2, 4], table: $0[0]) }
        GradientCheck.check([input([2, 3], 124), input([4, 3], 125)]) { Tensor.concatenate([$0[0], $0[1]], axis: 0) }
        GradientCheck.check([input([2, 3], 126), input([2, 1], 127)]) { Tensor.concatenate([$0[0], $0[1]], axis: 1) }
        GradientCheck.check([input([2, 3, 2, 2], 128)]) { $0[0].flattened().reshaped([4, 6]) }
    }
}
