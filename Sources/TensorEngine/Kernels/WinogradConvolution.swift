import CEngineKernels

/// Winograd F(4x4, 3x3) convolutions of the engine's own (winograd_kernels.c), for CPUs where
/// oneDNN 2.6 has none (it has them for AVX-512 only): a 3x3 kernel at stride 1 on channel-
/// blocked activations, 36 multiply-adds per channel pair and 4x4 block of outputs instead of
/// 144. Each pass transforms its OIHW weights (or, backward-weights, its sums) itself. It rounds
/// differently from a direct convolution, within the bound ConvolutionPolicyTests holds every
/// algorithm to.
final class WinogradConvolution: ShapedConvolutionKernel {
    let kind: ConvolutionPassKind
    let input: [Int], weight: [Int], output: [Int]
    private let padding: Int
    let hasBias: Bool
    /// Channels per block of the activations (8 or 16).
    private let lanes: Int

    /// Whether the kernels cover the shape: 3x3, stride 1, no groups, padding at most 2 (the
    /// input-gradient pass pads by 2 - padding), both channel counts multiples of the block of
    /// `layout`, the layout oneDNN's direct kernels take for the shape.
    static func applies(input: [Int], weight: [Int], geometry: ConvolutionGeometry, layout: Layout) -> Bool {
        guard case .channelBlocked(let block) = layout, block % 8 == 0 else { return false }
        return geometry.groups == 1 && geometry.stride == 1 && geometry.padding <= 2 && weight[2] == 3 && weight[3] == 3
            && input[1] % block == 0 && weight[0] % block == 0
    }

    init(_ kind: ConvolutionPassKind, input: [Int], weight: [Int], output: [Int], padding: Int, hasBias: Bool, lanes: Int) {
        (self.kind, self.input, self.weight, self.output, self.padding, self.hasBias, self.lanes) =
            (kind, input, weight, output, padding, hasBias, lanes)
    }

    var implementation: String { "engine:winograd" }
    var isReference: Bool { false }
    var addsResidual: Bool { kind == .forward }

    func execute(_ arguments: [(Int32, UnsafeMutableRawPointer)]) {
        let buffers = KernelBuffers(arguments)
        let dimensions = [input[0], input[1], input[2], input[3], weight[0], output[2], output[3], padding, lanes].map { Int32($0) }
        let status: Int32
        switch kind {
        case .forward:
            status = dfkd_winograd_forward(buffers[DNNLArgument.src], buffers[DNNLArgument.weights],
                                           hasBias ? buffers[DNNLArgument.bias] : nil, buffers.optional(EngineArgument.residual),
                                           buffers[DNNLArgument.dst],
                                           dimensions[0], dimensions[1], dimensions[2], dimensions[3], dimensions[4],
                                           dimensions[5], dimensions[6], dimensions[7], dimensions[8])
        case .backwardData:
            status = dfkd_winograd_backward_data(buffers[DNNLArgument.diffDst], buffers[DNNLArgument.weights], buffers[DNNLArgument.diffSrc],
                                                 dimensions[0], dimensions[1], dimensions[2], dimensions[3], dimensions[4],
                                                 dimensions[5], dimensions[6], dimensions[7], dimensions[8])
        case .backwardWeights:
            status = dfkd_winograd_backward_weights(buffers[DNNLArgument.src], buffers[DNNLArgument.diffDst],
                                                    buffers[DNNLArgument.diffWeights], hasBias ? buffers[DNNLArgument.diffBias] : nil,
                                                    dimensions[0], dimensions[1], dimensions[2], dimensions[3], dimensions[4],
                                                    dimensions[5], dimensions[6], dimensions[7], dimensions[8])
        }
        precondition(status == 0, "out of memory for the work buffers of a convolution's \(kind)")
    }
}
