import CEngineKernels

/// The engine's own convolution kernels, offered beside oneDNN's for the shapes where oneDNN 2.6
/// is slow; the plan's timer takes them only where they measure faster. All read OIHW weights;
/// the Winograd kernels read and write channel-blocked activations, the others plain NCHW.
public enum EngineConvolution {
    /// The engine's candidates for pass `kind` of a convolution, each with its name in
    /// ConvolutionChoiceStore, its algorithm and the layout of its activations. `blocked`: the
    /// layout oneDNN's direct kernels take for the shape (the network's, where it is blocked).
    static func kernels(_ kind: ConvolutionPassKind, input: [Int], weight: [Int], output: [Int], geometry: ConvolutionGeometry,
                        hasBias: Bool, blocked: Layout)
        -> [(name: String, algorithm: ConvolutionAlgorithm, layout: Layout, kernel: any ConvolutionKernel)] {
        var found: [(name: String, algorithm: ConvolutionAlgorithm, layout: Layout, kernel: any ConvolutionKernel)] = []
        if MatrixConvolution.applies(input: input, weight: weight, geometry: geometry) {
            found.append(("matrix", .engine, .plain, MatrixConvolution(kind, input: input, outputs: weight[0], hasBias: hasBias)))
        }
        if FewChannelConvolution.applies(kind, input: input, weight: weight, geometry: geometry) {
            found.append(("few-channel", .engine, .plain, FewChannelConvolution(kind, input: input, weight: weight, output: output,
                                                                                padding: geometry.padding, hasBias: hasBias)))
        }
        if WinogradConvolution.applies(input: input, weight: weight, geometry: geometry, layout: blocked),
           case .channelBlocked(let lanes) = blocked {
            found.append(("engine-winograd", .engineWinograd, blocked,
                          WinogradConvolution(kind, input: input, weight: weight, output: output, padding: geometry.padding,
                                              hasBias: hasBias, lanes: lanes)))
        }
        return found
    }
}

/// A convolution whose kernel covers its whole unpadded input (LeNet-5's 5x5 on 5x5
/// features): its output is 1x1, so each pass is one matrix product, run on OpenBLAS sgemm.
/// With the input as a (batch x C*H*W) matrix X, the weights as (O x C*H*W) W and the
/// output as (batch x O) Y: Y = X W^T, dX = dY W, dW = dY^T X.
final class MatrixConvolution: EnginePassKernel {
    let kind: ConvolutionPassKind
    private let batch: Int, features: Int, outputs: Int
    let hasBias: Bool

    static func applies(input: [Int], weight: [Int], geometry: ConvolutionGeometry) -> Bool {
        geometry.groups == 1 && geometry.padding == 0 && weight[2] == input[2] && weight[3] == input[3]
    }

    init(_ kind: ConvolutionPassKind, input: [Int], outputs: Int, hasBias: Bool) {
        self.kind = kind
        batch = input[0]
        features = input[1] * input[2] * input[3]
        self.outputs = outputs
        self.hasBias = hasBias
    }

    var implementation: String { "engine:matrix" }
    var isReference: Bool { false }

    func floats(of argument: Int32) -> Int {
        switch argument {
        case DNNLArgument.src, DNNLArgument.diffSrc: batch * features
        case DNNLArgument.weights, DNNLArgument.diffWeights: outputs * features
        case DNNLArgument.dst, DNNLArgument.diffDst: batch * outputs
        default: outputs
        }
    }

    func execute(_ arguments: [(Int32, UnsafeMutableRawPointer)]) {
        let buffers = KernelBuffers(arguments)
        switch kind {
        case .forward:
            let y = buffers[DNNLArgument.dst]
            if hasBias {
                let bias = buffers[DNNLArgument.bias]
                for row in 0..<batch { (y + row * outputs).update(from: bias, count: outputs) }
            }
            GEMM.multiply(buffers[DNNLArgument.src], transposeA: false, buffers[DNNLArgument.weights], transposeB: true,
                          into: y, m: batch, n: outputs, k: features, beta: hasBias ? 1 : 0)
        case .backwardData:
            GEMM.multiply(buffers[DNNLArgument.diffDst], transposeA: false, buffers[DNNLArgument.weights], transposeB: false,
                          into: buffers[DNNLArgument.diffSrc], m: batch, n: features, k: outputs)
        case .backwardWeights:
            let dy = buffers[DNNLArgument.diffDst]
            GEMM.multiply(dy, transposeA: true, buffers[DNNLArgument.src], transposeB: false,
                          into: buffers[DNNLArgument.diffWeights], m: outputs, n: features, k: batch)
            if hasBias {
                let db = buffers[DNNLArgument.diffBias]
                db.update(repeating: 0, count: outputs)
                for row in 0..<batch {
                    for output in 0..<outputs { db[output] += dy[row * outputs + output] }
                }
            }
        }
    }
}

/// A stride-1 convolution with few input channels (an image's 1 or 3) or few output channels
/// (a generator's last layer, which draws the image), where oneDNN 2.6 has only its im2col +
/// GEMM kernels or direct ones that pad the few channels to 8 or 16. The sums run in C
/// (engine_kernels.c), eight columns at a time on zero-padded copies of each image's rows, on
/// AVX2 and FMA where the CPU has them. The forward pass is the input-gradient sum of the
/// convolution with the roles of input and output swapped: weights transposed to (input,
/// output) and flipped, padding kernel - 1 - padding.
final class FewChannelConvolution: ShapedConvolutionKernel {
    let kind: ConvolutionPassKind
    let input: [Int], weight: [Int], output: [Int]
    private let padding: Int
    let hasBias: Bool

    static let maximumChannels = 4

    static func applies(_ kind: ConvolutionPassKind, input: [Int], weight: [Int], geometry: ConvolutionGeometry) -> Bool {
        guard geometry.groups == 1, geometry.stride == 1, min(input[1], weight[0]) <= maximumChannels else { return false }
        // The input-gradient sum reads a window of its source padded by kernel - 1 - padding.
        return kind == .backwardWeights || geometry.padding < min(weight[2], weight[3])
    }

    init(_ kind: ConvolutionPassKind, input: [Int], weight: [Int], output: [Int], padding: Int, hasBias: Bool) {
        (self.kind, self.input, self.weight, self.output, self.padding, self.hasBias) = (kind, input, weight, output, padding, hasBias)
    }

    var implementation: String { "engine:few-channel" }
    var isReference: Bool { false }

    func execute(_ arguments: [(Int32, UnsafeMutableRawPointer)]) {
        let buffers = KernelBuffers(arguments)
        let status: Int32
        switch kind {
        case .forward:
            status = forward(buffers)
        case .backwardData:
            status = dfkd_few_channel_input_gradient(buffers[DNNLArgument.diffDst], buffers[DNNLArgument.weights], buffers[DNNLArgument.diffSrc],
                                                     Int32(input[0]), Int32(input[1]), Int32(input[2]), Int32(input[3]),
                                                     Int32(weight[0]), Int32(weight[2]), Int32(weight[3]),
                                                     Int32(output[2]), Int32(output[3]), Int32(padding))
        case .backwardWeights:
            status = dfkd_few_channel_weight_gradient(buffers[DNNLArgument.src], buffers[DNNLArgument.diffDst], buffers[DNNLArgument.diffWeights],
                                                      Int32(input[0]), Int32(input[1]), Int32(input[2]), Int32(input[3]),
                                                      Int32(weight[0]), Int32(weight[2]), Int32(weight[3]),
                                                      Int32(output[2]), Int32(output[3]), Int32(padding))
            if hasBias { sumBiasGradient(buffers[DNNLArgument.diffDst], into: buffers[DNNLArgument.diffBias]) }
        }
        precondition(status == 0, "out of memory for the work buffers of a convolution's \(kind)")
    }

    /// y = the input gradient of the swapped convolution (its output gradient: x; its output
    /// channels: our input's), plus the bias.
    private func forward(_ buffers: KernelBuffers) -> Int32 {
        let (outputs, channels, kh, kw) = (weight[0], weight[1], weight[2], weight[3])
        let w = buffers[DNNLArgument.weights], y = buffers[DNNLArgument.dst]
        let status = withUnsafeTemporaryAllocation(of: Float.self, capacity: weight.reduce(1, *)) { buffer in
            let swapped = buffer.baseAddress!
            for o in 0..<outputs {
                for c in 0..<channels {
                    for i in 0..<kh {
                        for j in 0..<kw {
                            swapped[((c * outputs + o) * kh + kh - 1 - i) * kw + kw - 1 - j] = w[((o * channels + c) * kh + i) * kw + j]
                        }
                    }
                }
            }
            return dfkd_few_channel_input_gradient(buffers[DNNLArgument.src], swapped, y,
                                                   Int32(output[0]), Int32(outputs), Int32(output[2]), Int32(output[3]),
                                                   Int32(channels), Int32(kh), Int32(kw), Int32(input[2]), Int32(input[3]),
                                                   Int32(kh - 1 - padding))
        }
        if hasBias {
            let bias = buffers[DNNLArgument.bias], plane = output[2] * output[3]
            for n in 0..<output[0] {
                for o in 0..<outputs {
                    let start = y + (n * outputs + o) * plane
                    for i in 0..<plane { start[i] += bias[o] }
                }
            }
        }
        return status
    }

    private func sumBiasGradient(_ dy: UnsafeMutablePointer<Float>, into db: UnsafeMutablePointer<Float>) {
        let (batch, outputs, plane) = (output[0], output[1], output[2] * output[3])
        for o in 0..<outputs {
            var total: Float = 0
            for n in 0..<batch {
                let start = dy + (n * outputs + o) * plane
                for i in 0..<plane { total += start[i] }
            }
            db[o] = total
        }
    }
}
