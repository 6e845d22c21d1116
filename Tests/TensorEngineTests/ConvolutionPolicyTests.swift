import TensorEngine
import TestSupport
import XCTest

/// Every convolution algorithm policy computes the same convolution: the output and the
/// three gradients under GEMM, the engine's kernels, Winograd and measured choices against
/// those of the direct kernels, and the other kernels' gradients against finite differences.
final class ConvolutionPolicyTests: XCTestCase {
    private let cases: [(input: [Int], weight: [Int], bias: Bool, geometry: ConvolutionGeometry)] = [
        ([4, 1, 12, 12], [6, 1, 5, 5], true, ConvolutionGeometry(padding: 2)),   // LeNet conv1's few input channels
        ([4, 6, 7, 7], [16, 6, 5, 5], true, ConvolutionGeometry()),              // 6 channels: padded to the block by direct
        ([2, 3, 9, 9], [8, 3, 3, 3], false, ConvolutionGeometry(stride: 2, padding: 1)),
        ([2, 16, 6, 6], [16, 16, 3, 3], true, ConvolutionGeometry(padding: 1)),
        ([2, 8, 5, 5], [8, 4, 3, 3], false, ConvolutionGeometry(padding: 1, groups: 2)),
        ([4, 16, 5, 5], [12, 16, 5, 5], true, ConvolutionGeometry()),              // covers its input: one matrix product
        ([2, 3, 9, 19], [5, 3, 3, 3], true, ConvolutionGeometry(padding: 1)),      // few channels, rows of 3 vectors
        ([1, 1, 8, 30], [2, 1, 3, 3], true, ConvolutionGeometry(padding: 1)),      // rows of 4 vectors
        ([2, 1, 32, 32], [6, 1, 5, 5], true, ConvolutionGeometry()),               // LeNet-5's first convolution on 32x32
        ([2, 2, 6, 40], [3, 2, 3, 3], false, ConvolutionGeometry()),               // rows of 5 vectors: the general loop
        ([2, 32, 12, 12], [32, 32, 3, 3], true, ConvolutionGeometry(padding: 1)), // Winograd's: 16-channel multiples, 3x3
        ([2, 16, 10, 11], [32, 16, 3, 3], false, ConvolutionGeometry()),         // the same unpadded, a partial tile
        ([2, 16, 12, 12], [1, 16, 3, 3], true, ConvolutionGeometry(padding: 1)),  // a generator's last layer: few outputs
        ([3, 8, 9, 21], [3, 8, 3, 3], false, ConvolutionGeometry()),              // few outputs, rows of 3 vectors
        ([1, 2, 5, 70], [5, 2, 3, 3], true, ConvolutionGeometry(padding: 1)),      // rows of 5 AVX-512 vectors: two chunks
        ([2, 3, 8, 8], [16, 3, 3, 3], true, ConvolutionGeometry(padding: 1)),      // a colour image into 16: two groups of outputs
        ([2, 3, 9, 11], [4, 3, 2, 4], true, ConvolutionGeometry(padding: 1)),     // a kernel 2 x 4: its taps one at a time
        ([2, 3, 6, 6], [4, 3, 3, 3], true, ConvolutionGeometry(padding: 1)),      // rows shorter than half a vector
    ]

    private var savedPolicy = ConvolutionAlgorithms.policy

    override func setUp() {
        super.setUp()
        savedPolicy = ConvolutionAlgorithms.policy
    }

    override func tearDown() {
        ConvolutionAlgorithms.policy = savedPolicy
        super.tearDown()
    }

    /// Output, input gradient, weight gradient and bias gradient for a fixed upstream gradient.
    private func run(_ policy: ConvolutionPolicy, _ index: Int) -> [[Float]] {
        ConvolutionAlgorithms.policy = policy
        let (inputShape, weightShape, hasBias, geometry) = cases[index]
        let seed = UInt64(10 * index)
        let x = GradientCheck.input(inputShape, seed: seed)
        let weight = GradientCheck.input(weightShape, seed: seed + 1)
        let bias = hasBias ? GradientCheck.input([weightShape[0]], seed: seed + 2) : nil
        let out = Tensor.conv2d(x, weight: weight, bias: bias, geometry: geometry)
        let upstream = Tensor.uniform(out.shape, low: -1, high: 1, generator: Philox(seed: seed + 3))
        out.backward(gradient: upstream)
        return [out.toArray(), x.grad!.toArray(), weight.grad!.toArray()] + (bias.map { [$0.grad!.toArray()] } ?? [])
    }

    func testEveryPolicyAgreesWithTheDirectKernels() {
        let names = ["output", "input gradient", "weight gradient", "bias gradient"]
        for index in cases.indices {
            let reference = run(.forced(.direct), index)
            // The engine's C kernels on each instruction set this CPU has: AVX-512, AVX2 + FMA
            // and generic.
            let runs: [(ConvolutionPolicy, avx2: Bool, avx512: Bool)] = [
                (.forced(.gemm), true, true), (.forced(.engine), true, true), (.forced(.engine), true, false),
                (.forced(.engine), false, false), (.forced(.winograd), true, true), (.forced(.engineWinograd), true, true),
                (.forced(.engineWinograd), true, false), (.forced(.engineWinograd), false, false), (.measured, true, true),
            ]
            for (policy, avx2, avx512) in runs {
                EngineKernels.allowVectorExtensions(avx2)
                EngineKernels.allowAVX512(avx512)
                if !avx2 { XCTAssertFalse(EngineKernels.usesAVX2) }
                if !avx512 { XCTAssertFalse(EngineKernels.usesAVX512) }
                defer {
                    EngineKernels.allowVectorExtensions(true)
                    EngineKernels.allowAVX512(true)
                }
                let result = run(policy, index)
                XCTAssertEqual(result.count, reference.count)
                for (part, (values, expected)) in zip(result, reference).enumerated() {
                    let scale = expected.map(Swift.abs).max() ?? 1
                    let worst = zip(values, expected).map { Swift.abs($0 - $1) }.max() ?? 0
                    // Sums of at most a few hundred products of values in [-1, 1]: float32
                    // rounding in any summation order stays far below 1e-4 of the largest.
                    // Winograd's transforms round more, but not much: its worst here was
                    // 1.3e-6 of the largest value (oneDNN 2.6, AVX-512).
                    XCTAssertLessThan(worst, 1e-4 * max(1, scale), "case \(index) \(policy) avx2 \(avx2) avx512 \(avx512) \(names[part])")
                }
            }
        }
    }

    func testGEMMAndEngineGradientsMatchFiniteDifferences() {
        for algorithm in [ConvolutionAlgorithm.gemm, .engine, .winograd, .engineWinograd] {
            ConvolutionAlgorithms.policy = .forced(algorithm)
            for (index, (inputShape, weightShape, hasBias, geometry)) in cases.enumerated() {
                let seed = UInt64(100 + 10 * index)
                var inputs = [GradientCheck.input(inputShape, seed: seed), GradientCheck.input(weightShape, seed: seed + 1)]
                if hasBias { inputs.append(GradientCheck.input([weightShape[0]], seed: seed + 2)) }
                GradientCheck.check(inputs) { Tensor.conv2d($0[0], weight: $0[1], bias: hasBias ? $0[2] : nil, geometry: geometry) }
            }
        }
    }

    /// conv2d(..., adding: r) is conv2d(...) + r bit for bit, with the same gradients, whether
    /// the forward kernel adds r as it writes (the engine's Winograd) or r is added after it.
    func testAResidualIsAddedAsASumAfterTheConvolutionWould() {
        let winogradCase = 10, otherCases = [2, 3, 11]
        XCTAssertEqual(ConvolutionKernels.implementations(inputShape: cases[winogradCase].input, weightShape: cases[winogradCase].weight,
                                                          geometry: cases[winogradCase].geometry, policy: .forced(.engineWinograd))[0],
                       "engine:winograd")
        let runs: [(ConvolutionPolicy, avx2: Bool)] = [(.forced(.engineWinograd), true), (.forced(.engineWinograd), false),
                                                       (.forced(.direct), true), (.forced(.engine), true), (.measured, true)]
        for index in [winogradCase] + otherCases {
            let (inputShape, weightShape, hasBias, geometry) = cases[index]
            for (policy, avx2) in runs {
                ConvolutionAlgorithms.policy = policy
                EngineKernels.allowVectorExtensions(avx2)
                defer { EngineKernels.allowVectorExtensions(true) }
                func run(fused: Bool) -> [[Float]] {
                    let seed = UInt64(300 + 10 * index)
                    let x = GradientCheck.input(inputShape, seed: seed), weight = GradientCheck.input(weightShape, seed: seed + 1)
                    let bias = hasBias ? GradientCheck.input([weightShape[0]], seed: seed + 2) : nil
                    let outputShape = Tensor.conv2d(x.detached(), weight: weight.detached(), bias: bias?.detached(), geometry: geometry).shape
                    let residual = GradientCheck.input(outputShape, seed: seed + 3)
                    let out = fused ? Tensor.conv2d(x, weight: weight, bias: bias, geometry: geometry, adding: residual)
                                    : Tensor.conv2d(x, weight: weight, bias: bias, geometry: geometry) + residual
                    out.backward(gradient: Tensor.uniform(out.shape, low: -1, high: 1, generator: Philox(seed: seed + 4)))
                    return [out.toArray(), x.grad!.toArray(), weight.grad!.toArray(), residual.grad!.toArray()]
                        + (bias.map { [$0.grad!.toArray()] } ?? [])
                }
                let (fused, separate) = (run(fused: true), run(fused: false))
                for (part, name) in ["output", "input gradient", "weight gradient", "residual gradient", "bias gradient"].enumerated()
                where part < fused.count {
                    XCTAssertEqual(fused[part], separate[part], "case \(index) \(policy) avx2 \(avx2): \(name)")
                }
            }
        }
        // The same shape keeps its size at padding 1, so the residual is the input's shape.
        ConvolutionAlgorithms.policy = .forced(.engineWinograd)
        let (inputShape, weightShape, _, geometry) = cases[winogradCase]
        GradientCheck.check([GradientCheck.input(inputShape, seed: 7), GradientCheck.input(weightShape, seed: 8),
                             GradientCheck.input([inputShape[0], weightShape[0], inputShape[2], inputShape[3]], seed: 9)]) {
            Tensor.conv2d($0[0], weight: $0[1], geometry: geometry, adding: $0[2])
        }
    }

    func testForcedPoliciesRunTheNamedAlgorithm() {
        let (input, weight, geometry) = ([64, 1, 32, 32], [6, 1, 5, 5], ConvolutionGeometry(padding: 2))
        let gemm = ConvolutionKernels.implementations(inputShape: input, weightShape: weight, geometry: geometry, policy: .forced(.gemm))
        XCTAssertTrue(gemm.allSatisfy { $0.contains("gemm") }, "\(gemm)")
        let direct = ConvolutionKernels.implementations(inputShape: input, weightShape: weight, geometry: geometry, policy: .forced(.direct))
        XCTAssertFalse(direct.contains { $0.contains("gemm") || $0.hasPrefix("ref") }, "\(direct)")
        let engine = ConvolutionKernels.implementations(inputShape: input, weightShape: weight, geometry: geometry, policy: .forced(.engine))
        XCTAssertEqual(engine, Array(repeating: "engine:few-channel", count: 3))
        let fewOutputs = ConvolutionKernels.implementations(inputShape: [64, 16, 32, 32], weightShape: [1, 16, 3, 3],
                                                            geometry: ConvolutionGeometry(padding: 1), policy: .forced(.engine))
        XCTAssertEqual(fewOutputs, Array(repeating: "engine:few-channel", count: 3))
        // A pass the engine has no kernel for takes oneDNN's first candidate.
        let strided = ConvolutionKernels.implementations(inputShape: [64, 1, 32, 32], weightShape: [6, 1, 5, 5],
                                                         geometry: ConvolutionGeometry(stride: 2, padding: 2), policy: .forced(.engine))
        XCTAssertFalse(strided.contains { $0.hasPrefix("engine") || $0.hasPrefix("ref") }, "\(strided)")
        let covering = ConvolutionKernels.implementations(inputShape: [64, 16, 5, 5], weightShape: [120, 16, 5, 5],
                                                          geometry: ConvolutionGeometry(), policy: .forced(.engine))
        XCTAssertEqual(covering, Array(repeating: "engine:matrix", count: 3))
    }

    /// oneDNN 2.6 has Winograd kernels for AVX-512 only: there every pass of a WRN-style shape
    /// runs on them when forced; elsewhere forcing Winograd runs oneDNN's direct kernels.
    func testForcedWinogradRunsWinogradWhereThisCPUHasIt() {
        let (input, weight, geometry) = ([8, 32, 16, 16], [32, 32, 3, 3], ConvolutionGeometry(padding: 1))
        let forced = ConvolutionKernels.implementations(inputShape: input, weightShape: weight, geometry: geometry, policy: .forced(.winograd))
        let candidates = ConvolutionKernels.candidateNames(inputShape: input, weightShape: weight, geometry: geometry, hasBias: false)
        if ConvolutionAlgorithms.cpuHasWinograd {
            XCTAssertTrue(forced.allSatisfy { $0.hasPrefix("jit_wino") }, "\(forced)")
            XCTAssertTrue(candidates.allSatisfy { $0.contains("winograd") }, "\(candidates)")
        } else {
            XCTAssertFalse(forced.contains { $0.contains("wino") || $0.hasPrefix("ref") }, "\(forced)")
            XCTAssertFalse(candidates.contains { $0.contains("winograd") }, "\(candidates)")
        }
        // A 5x5 kernel or a stride of 2 is never Winograd's.
        for (weight, geometry) in [([32, 32, 5, 5], ConvolutionGeometry(padding: 2)), ([32, 32, 3, 3], ConvolutionGeometry(stride: 2, padding: 1))] {
            let names = ConvolutionKernels.candidateNames(inputShape: input, weightShape: weight, geometry: geometry, hasBias: false)
            XCTAssertFalse(names.contains { $0.contains("winograd") }, "\(weight) \(geometry): \(names)")
        }
    }

    func testPolicyNames() {
        XCTAssertEqual(ConvolutionPolicy(name: "auto"), .measured)
        XCTAssertEqual(ConvolutionPolicy(name: "gemm"), .forced(.gemm))
        XCTAssertEqual(ConvolutionPolicy(name: "direct"), .forced(.direct))
        XCTAssertEqual(ConvolutionPolicy(name: "engine"), .forced(.engine))
        XCTAssertEqual(ConvolutionPolicy(name: "winograd"), .forced(.winograd))
        XCTAssertNil(ConvolutionPolicy(name: "wino"))
    }
}
