import NeuralNetwork
import TensorEngine
import TestSupport
import XCTest

/// Every op and loss against PyTorch: output and the gradient of sum(output * w) for each input.
final class OpGoldenTests: XCTestCase {
    typealias File = GoldenCaseFile

    typealias Op = (_ inputs: [String: Tensor], _ labels: [Int]) -> [Tensor]

    static var ops: [String: Op] { [
        "relu": { i, _ in [i["x"]!.relu()] },
        "leaky_relu": { i, _ in [i["x"]!.leakyRelu(slope: 0.2)] },
        "tanh": { i, _ in [i["x"]!.tanh()] },
        "sigmoid": { i, _ in [i["x"]!.sigmoid()] },
        "exp": { i, _ in [i["x"]!.exp()] },
        "log": { i, _ in [i["x"]!.log()] },
        "sqrt": { i, _ in [i["x"]!.sqrt()] },
        "abs": { i, _ in [i["x"]!.abs()] },
        "square": { i, _ in [i["x"]!.squared()] },
        "sign_ste": { i, _ in [i["x"]!.signStraightThrough()] },
        "scalar_arithmetic": { i, _ in [(i["x"]! * 3 + 1) / 2 - 0.5] },
        "add_broadcast": { i, _ in [i["a"]! + i["b"]!] },
        "subtract": { i, _ in [i["a"]! - i["b"]!] },
        "multiply_broadcast": { i, _ in [i["a"]! * i["b"]!] },
        "divide": { i, _ in [i["a"]! / i["b"]!] },
        "sum_axis1": { i, _ in [i["x"]!.sum(axes: [1])] },
        "mean_axes02_keep": { i, _ in [i["x"]!.mean(axes: [0, 2], keepDims: true)] },
        "mean_all": { i, _ in [i["x"]!.mean()] },
        "softmax": { i, _ in [i["x"]!.softmax()] },
        "log_softmax": { i, _ in [i["x"]!.logSoftmax()] },
        "l2_normalize": { i, _ in [i["x"]!.l2Normalized()] },
        "matmul": { i, _ in [Tensor.matmul(i["a"]!, i["b"]!)] },
        "matmul_bt": { i, _ in [Tensor.matmul(i["a"]!, i["b"]!, transposeB: true)] },
        "linear": { i, _ in [Tensor.linear(i["x"]!, weight: i["weight"]!, bias: i["bias"]!)] },
        "conv2d_3x3_pad1_bias": { i, _ in
            [Tensor.conv2d(i["x"]!, weight: i["weight"]!, bias: i["bias"]!, geometry: ConvolutionGeometry(padding: 1))] },
        "conv2d_16_to_32_stride2": { i, _ in
            [Tensor.conv2d(i["x"]!, weight: i["weight"]!, geometry: ConvolutionGeometry(stride: 2, padding: 1))] },
        "conv2d_5x5_6ch": { i, _ in [Tensor.conv2d(i["x"]!, weight: i["weight"]!, bias: i["bias"]!)] },
        "conv2d_groups2": { i, _ in
            [Tensor.conv2d(i["x"]!, weight: i["weight"]!, geometry: ConvolutionGeometry(padding: 1, groups: 2))] },
        "conv2d_depthwise": { i, _ in
            [Tensor.conv2d(i["x"]!, weight: i["weight"]!, bias: i["bias"]!, geometry: ConvolutionGeometry(padding: 1, groups: 16))] },
        "conv2d_covers_input": { i, _ in [Tensor.conv2d(i["x"]!, weight: i["weight"]!, bias: i["bias"]!)] },
        "conv2d_1ch_5x5_pad2": { i, _ in
            [Tensor.conv2d(i["x"]!, weight: i["weight"]!, bias: i["bias"]!, geometry: ConvolutionGeometry(padding: 2))] },
        "conv2d_3ch_wide": { i, _ in [Tensor.conv2d(i["x"]!, weight: i["weight"]!, geometry: ConvolutionGeometry(padding: 1))] },
        "conv2d_few_outputs": { i, _ in [Tensor.conv2d(i["x"]!, weight: i["weight"]!, bias: i["bias"]!, geometry: ConvolutionGeometry(padding: 1))] },
        "conv2d_32ch_3x3": { i, _ in [Tensor.conv2d(i["x"]!, weight: i["weight"]!, bias: i["bias"]!, geometry: ConvolutionGeometry(padding: 1))] },
        "batch_norm_eval": { i, _ in
            [Tensor.batchNorm(i["x"]!, weight: i["weight"]!, bias: i["bias"]!,
                              running: RunningStatistics(mean: i["running_mean"]!.detached(), variance: i["running_var"]!.detached()),
                              training: false)] },
        "batch_norm_no_affine": { i, _ in [Tensor.batchNorm(i["x"]!, weight: nil, bias: nil, running: nil, training: true)] },
        "channel_moments": { i, _ in let m = i["x"]!.channelMoments(); return [m.mean, m.variance] },
        "max_pool2": { i, _ in [i["x"]!.maxPool2d(kernel: 2)] },
        "avg_pool3_s2_p1": { i, _ in [i["x"]!.avgPool2d(kernel: 3, stride: 2, padding: 1)] },
        "global_avg_pool": { i, _ in [i["x"]!.globalAveragePooled()] },
        "upsample_nearest2": { i, _ in [i["x"]!.upsampledNearest2x()] },
        "concat_axis0": { i, _ in [Tensor.concatenate([i["a"]!, i["b"]!], axis: 0)] },
        "concat_axis1": { i, _ in [Tensor.concatenate([i["a"]!, i["b"]!], axis: 1)] },
        "flatten_reshape": { i, _ in [i["x"]!.flattened().reshaped([4, 6])] },
        "class_scale_shift": { i, labels in [Tensor.classScaleShift(i["x"]!, labels: labels, scale: i["scale"]!, shift: i["shift"]!)] },
        "embedding": { i, labels in [Tensor.embedding(labels, table: i["table"]!)] },
        "cross_entropy": { i, labels in [Loss.crossEntropy(i["logits"]!, labels: labels)] },
        "kd_divergence_t4": { i, _ in [Loss.kdDivergence(student: i["student"]!, teacher: i["teacher"]!, temperature: 4)] },
        "mse": { i, _ in [Loss.meanSquaredError(i["a"]!, i["b"]!)] },
        "l1": { i, _ in [Loss.l1(i["a"]!, i["b"]!)] },
    ] }

    func testEveryOpMatchesPyTorch() throws {
        let file = try Goldens.load(File.self, from: "ops.json")
        var covered = Set<String>()
        for golden in file.cases where golden.name != "batch_norm_train" {
            guard let op = Self.ops[golden.name] else {
                XCTFail("no engine op for golden case \(golden.name)")
                continue
            }
            covered.insert(golden.name)
            Goldens.check(golden) { op($0, golden.labels ?? []) }
        }
        XCTAssertEqual(covered, Set(Self.ops.keys), "every op in the table has a golden case")
    }

    /// The convolution cases on each algorithm forced in turn, not only on the kernels this
    /// machine measured fastest.
    func testConvolutionsMatchPyTorchOnEveryAlgorithm() throws {
        let file = try Goldens.load(File.self, from: "ops.json")
        let saved = ConvolutionAlgorithms.policy
        defer { ConvolutionAlgorithms.policy = saved }
        let convolutions = file.cases.filter { $0.name.hasPrefix("conv2d") }
        XCTAssertEqual(convolutions.count, 10)
        for algorithm in ConvolutionAlgorithm.allCases {
            ConvolutionAlgorithms.policy = .forced(algorithm)
            for golden in convolutions {
                Goldens.check(golden) { Self.ops[golden.name]!($0, golden.labels ?? []) }
            }
        }
    }

    func testBatchNormTrainingMatchesPyTorchIncludingRunningStatistics() throws {
        let file = try Goldens.load(File.self, from: "ops.json")
        let golden = try XCTUnwrap(file.cases.first { $0.name == "batch_norm_train" })
        let mean = Tensor.full([3], 0.1), variance = Tensor.full([3], 2)
        Goldens.check(golden) { i in
            [Tensor.batchNorm(i["x"]!, weight: i["weight"]!, bias: i["bias"]!,
                              running: RunningStatistics(mean: mean, variance: variance, momentum: 0.1), training: true)]
        }
        Goldens.assertClose(mean.toArray(), golden.running_mean!, "running_mean")
        Goldens.assertClose(variance.toArray(), golden.running_var!, "running_var")
    }
}
