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
/// (few_channel_template.h) along the rows of plain NCHW images, a vector of columns at a
/// time, on AVX-512, AVX2 + FMA or generic code as the CPU allows.
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
        let sizes = (batch: Int32(input[0]), channels: Int32(input[1]), height: Int32(input[2]), width: Int32(input[3]),
                     outputs: Int32(weight[0]), kernelHeight: Int32(weight[2]), kernelWidth: Int32(weight[3]),
                     outputHeight: Int32(output[2]), outputWidth: Int32(output[3]), padding: Int32(padding))
        let status: Int32
        switch kind {
        case .forward:
            status = dfkd_few_channel_forward(buffers[DNNLArgument.src], buffers[DNNLArgument.weights],
                                              hasBias ? buffers[DNNLArgument.bias] : nil, buffers[DNNLArgument.dst],
                                              sizes.batch, sizes.channels, sizes.height, sizes.width, sizes.outputs,
                                              sizes.kernelHeight, sizes.kernelWidth, sizes.outputHeight, sizes.outputWidth, sizes.padding)
        case .backwardData:
            status = dfkd_few_channel_input_gradient(buffers[DNNLArgument.diffDst], buffers[DNNLArgument.weights], buffers[DNNLArgument.diffSrc],
                                                     sizes.batch, sizes.channels, sizes.height, sizes.width, sizes.outputs,
                                                     sizes.kernelHeight, sizes.kernelWidth, sizes.outputHeight, sizes.outputWidth, sizes.padding)
        case .backwardWeights:
            status = dfkd_few_channel_weight_gradient(buffers[DNNLArgument.src], buffers[DNNLArgument.diffDst], buffers[DNNLArgument.diffWeights],
                                                      hasBias ? buffers[DNNLArgument.diffBias] : nil,
                                                      sizes.batch, sizes.channels, sizes.height, sizes.width, sizes.outputs,
                                                      sizes.kernelHeight, sizes.kernelWidth, sizes.outputHeight, sizes.outputWidth, sizes.padding)
        }
        precondition(status == 0, "out of memory for the work buffers of a convolution's \(kind)")
    }
}
