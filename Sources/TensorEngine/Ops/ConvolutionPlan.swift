import CDNNL

/// The oneDNN primitives for one convolution shape: forward, backward-data and
/// backward-weights, the layouts oneDNN chose for activations (`format_tag_any`), and the
/// reorders between PyTorch's OIHW weights and the blocked weights each primitive reads.
///
/// oneDNN 2.6 has only its reference kernel (hundreds of times slower) for some passes of an
/// input whose channel count is not a multiple of the channel block (LeNet's 6 channels, an
/// image's 3). Such a pass runs with the input channels padded up to the block: a blocked
/// input already carries those channels as zero padding, and the weights get zero rows for
/// them, so the result is exact. Passes with a fast kernel for the real channel count keep
/// it (padding an image's one channel to 16 would cost 16 times the work).
final class ConvolutionPlan {
    let inputShape: [Int], weightShape: [Int], outputShape: [Int]
    let geometry: ConvolutionGeometry
    let hasBias: Bool
    /// Forward and backward-weights, which read the same saved input.
    let forward: Primitive, backwardWeights: Primitive
    let backwardData: Primitive
    /// Input channels of the weights the kernels read: the real ones, or (for a padded pass)
    /// the input's channels rounded up to the channel block.
    let kernelInputChannels: Int, backwardDataInputChannels: Int
    let sourceLayout: Layout, destinationLayout: Layout
    /// The layout of the input gradient backward-data writes.
    let backwardDataSourceLayout: Layout
    /// From OIHW (with the kernel's input channels) to what each primitive reads or writes;
    /// nil where that is OIHW itself.
    let weightsReorder: Primitive?, backwardDataWeightsReorder: Primitive?, diffWeightsReorder: Primitive?

    init(inputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry, hasBias: Bool) {
        self.inputShape = inputShape
        self.weightShape = weightShape
        self.geometry = geometry
        self.hasBias = hasBias
        let (n, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let (o, kh, kw) = (weightShape[0], weightShape[2], weightShape[3])
        outputShape = [n, o, geometry.outputSize(h, kernel: kh), geometry.outputSize(w, kernel: kw)]

        let natural = KernelShape(input: inputShape, weight: weightShape, output: outputShape, geometry: geometry, hasBias: hasBias)
        let kernels = Kernels(natural, source: nil)
        var main = kernels, data = kernels
        let channels = inputShape[1]
        if geometry.groups == 1, kernels.usesReferenceImplementation,
           case .channelBlocked(let block) = kernels.destinationLayout, channels % block != 0 {
            let padded = Kernels(natural.withInputChannels(Layout.paddedChannels(channels, block: block)), source: .channelBlocked(block))
            if kernels.forward.isReference || kernels.backwardWeights.isReference { main = padded }
            if kernels.backwardData.isReference { data = padded }
        }
        forward = main.forward
        backwardWeights = main.backwardWeights
        backwardData = data.backwardData
        kernelInputChannels = main.shape.weight[1]
        backwardDataInputChannels = data.shape.weight[1]
        sourceLayout = main.sourceLayout
        destinationLayout = main.destinationLayout
        backwardDataSourceLayout = data.sourceLayout
        precondition(data.destinationLayout == destinationLayout, "convolution passes disagree on the output layout")

        let plain = Self.plainWeightsDescriptor(main.shape.weight, groups: geometry.groups)
        weightsReorder = Reorder.makeUnlessEqual(from: plain, to: forward.descriptor(of: DNNLArgument.weights))
        diffWeightsReorder = Reorder.makeUnlessEqual(from: backwardWeights.descriptor(of: DNNLArgument.diffWeights), to: plain)
        backwardDataWeightsReorder = Reorder.makeUnlessEqual(from: Self.plainWeightsDescriptor(data.shape.weight, groups: geometry.groups),
                                                             to: backwardData.descriptor(of: DNNLArgument.weights))
    }

    /// PyTorch's OIHW weights (GOIHW with groups), as oneDNN describes them.
    static func plainWeightsDescriptor(_ weightShape: [Int], groups: Int) -> dnnl_memory_desc_t {
        MemoryDescriptor.make(dims: KernelShape.weightDims(weightShape, groups: groups), tag: groups == 1 ? dnnl_abcd : dnnl_abcde)
    }

    /// The OIHW weights a kernel with `channels` input channels reads: `weight` itself, or
    /// a copy with zero rows for the padded input channels.
    func kernelWeights(_ weight: Tensor, inputChannels channels: Int) -> Tensor {
        guard channels != weightShape[1] else { return weight.detached() }
        let (o, c, k) = (weightShape[0], weightShape[1], weightShape[2] * weightShape[3])
        let padded = Tensor.zeros([o, channels, weightShape[2], weightShape[3]])
        for output in 0..<o {
            (padded.pointer + output * channels * k).update(from: weight.pointer + output * c * k, count: c * k)
        }
        return padded
    }

    /// The gradient of the real weights within the backward-weights kernel's OIHW weights.
    func logicalWeightGradient(_ kernelGradient: Tensor) -> Tensor {
        guard kernelInputChannels != weightShape[1] else { return kernelGradient }
        let (o, c, k) = (weightShape[0], weightShape[1], weightShape[2] * weightShape[3])
        let out = Tensor(uninitializedShape: weightShape)
        for output in 0..<o {
            (out.pointer + output * c * k).update(from: kernelGradient.pointer + output * kernelInputChannels * k, count: c * k)
        }
        return out
    }

    /// `weights` in the layout `reorder` produces (itself when there is no reorder).
    func reordered(_ weights: Tensor, by reorder: Primitive?, count: Int) -> Tensor {
        guard let reorder else { return weights }
        let out = Tensor(shape: [count], storage: Storage(count: count))
        Reorder.run(reorder, from: UnsafeMutableRawPointer(weights.pointer), to: UnsafeMutableRawPointer(out.pointer))
        return out
    }

    /// Floats of each primitive's weights buffer.
    var blockedWeightsCount: Int { Self.floats(forward.descriptor(of: DNNLArgument.weights)) }
    var backwardDataWeightsCount: Int { Self.floats(backwardData.descriptor(of: DNNLArgument.weights)) }
    var diffWeightsCount: Int { Self.floats(backwardWeights.descriptor(of: DNNLArgument.diffWeights)) }

    private static func floats(_ descriptor: dnnl_memory_desc_t) -> Int { (MemoryDescriptor.bytes(descriptor) + 3) / 4 }
}

extension Primitive {
    /// Whether oneDNN fell back to its (very slow) reference implementation.
    var isReference: Bool { implementation.hasPrefix("ref") }
}

/// The shapes a convolution's primitives are described with.
private struct KernelShape {
    var input: [Int], weight: [Int]
    let output: [Int]
    let geometry: ConvolutionGeometry
    let hasBias: Bool

    var weightDims: [Int] { Self.weightDims(weight, groups: geometry.groups) }

    static func weightDims(_ shape: [Int], groups: Int) -> [Int] {
        groups == 1 ? shape : [groups, shape[0] / groups, shape[1], shape[2], shape[3]]
    }

    func withInputChannels(_ channels: Int) -> KernelShape {
        var shape = self
        shape.input[1] = channels
        shape.weight[1] = channels
        return shape
    }

    var paddings: (left: [Int], right: [Int]) {
        let p = geometry.padding, s = geometry.stride
        let right = (0..<2).map { axis in (output[2 + axis] - 1) * s + weight[2 + axis] - input[2 + axis] - p }
        return ([p, p], right)
    }

    /// Calls `body` with oneDNN's stride and padding arrays.
    func withGeometry<R>(_ body: (UnsafePointer<Int64>, UnsafePointer<Int64>, UnsafePointer<Int64>) -> R) -> R {
        let (left, right) = paddings
        return withDims([geometry.stride, geometry.stride]) { strides in
            withDims(left) { l in withDims(right) { r in body(strides, l, r) } }
        }
    }

    var what: String { "convolution \(input) * \(weight)" }
}

/// The three primitives of one kernel shape.
private struct Kernels {
    let shape: KernelShape
    let forward: Primitive, backwardData: Primitive, backwardWeights: Primitive
    let sourceLayout: Layout, destinationLayout: Layout

    /// `source` fixes the input's layout; nil lets oneDNN choose.
    init(_ shape: KernelShape, source: Layout?) {
        self.shape = shape
        var chosen = Self.makeForward(shape, source: source, destination: nil)
        var src = source ?? MemoryDescriptor.layout(of: chosen.descriptor(of: DNNLArgument.src), shape: shape.input)
        var dst = MemoryDescriptor.layout(of: chosen.descriptor(of: DNNLArgument.dst), shape: shape.output)
        if src == nil || dst == nil {
            // oneDNN picked a layout the engine's own kernels do not read: ask for plain.
            src = source ?? .plain
            dst = .plain
            chosen = Self.makeForward(shape, source: src, destination: .plain)
        }
        forward = chosen
        sourceLayout = src!
        destinationLayout = dst!
        backwardData = Self.makeBackwardData(shape, forward: chosen)
        backwardWeights = Self.makeBackwardWeights(shape, forward: chosen)
    }

    var usesReferenceImplementation: Bool {
        [forward, backwardData, backwardWeights].contains { $0.isReference }
    }

    private static func makeForward(_ shape: KernelShape, source: Layout?, destination: Layout?) -> Primitive {
        var src = source.map { MemoryDescriptor.make(shape: shape.input, layout: $0) } ?? MemoryDescriptor.any(dims: shape.input)
        var dst = destination.map { MemoryDescriptor.make(shape: shape.output, layout: $0) } ?? MemoryDescriptor.any(dims: shape.output)
        var weights = MemoryDescriptor.any(dims: shape.weightDims)
        var bias = MemoryDescriptor.make(dims: [shape.weight[0]], tag: dnnl_a)
        var desc = dnnl_convolution_desc_t()
        let status = shape.withGeometry { strides, l, r in
            withUnsafePointer(to: &bias) { biasPointer in
                dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, dnnl_convolution_direct,
                                                   &src, &weights, shape.hasBias ? biasPointer : nil, &dst, strides, l, r)
            }
        }
        DNNL.check(status, "describing \(shape.what)")
        return withUnsafePointer(to: &desc) { Primitive(opDescriptor: $0, what: "\(shape.what) forward") }
    }

    private static func makeBackwardData(_ shape: KernelShape, forward: Primitive) -> Primitive {
        var diffSrc = forward.descriptor(of: DNNLArgument.src)
        // Backward-data prefers its own weight blocking; a fixed one can force the slow
        // reference kernel.
        var weights = MemoryDescriptor.any(dims: shape.weightDims)
        var diffDst = forward.descriptor(of: DNNLArgument.dst)
        var desc = dnnl_convolution_desc_t()
        let status = shape.withGeometry { strides, l, r in
            dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &diffSrc, &weights, &diffDst, strides, l, r)
        }
        DNNL.check(status, "describing \(shape.what) backward-data")
        return withUnsafePointer(to: &desc) { Primitive(opDescriptor: $0, hint: forward, what: "\(shape.what) backward-data") }
    }

    private static func makeBackwardWeights(_ shape: KernelShape, forward: Primitive) -> Primitive {
        var src = forward.descriptor(of: DNNLArgument.src)
        var diffWeights = MemoryDescriptor.any(dims: shape.weightDims)
        var diffBias = MemoryDescriptor.make(dims: [shape.weight[0]], tag: dnnl_a)
        var diffDst = forward.descriptor(of: DNNLArgument.dst)
        var desc = dnnl_convolution_desc_t()
        let status = shape.withGeometry { strides, l, r in
            withUnsafePointer(to: &diffBias) { biasPointer in
                dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &src, &diffWeights,
                                                            shape.hasBias ? biasPointer : nil, &diffDst, strides, l, r)
            }
        }
        DNNL.check(status, "describing \(shape.what) backward-weights")
        return withUnsafePointer(to: &desc) { Primitive(opDescriptor: $0, hint: forward, what: "\(shape.what) backward-weights") }
    }
}

/// One convolution as the engine has met it: what its plan was built for.
public struct ConvolutionShape: Hashable, Sendable {
    public let input: [Int], weight: [Int]
    public let geometry: ConvolutionGeometry

    /// Multiply-adds times two of one forward pass (backward-data and backward-weights
    /// compute as many).
    public var flops: Double {
        let output = (0..<2).map { geometry.outputSize(input[2 + $0], kernel: weight[2 + $0]) }
        return 2 * Double(input[0] * weight[0] * output[0] * output[1] * weight[1] * weight[2] * weight[3])
    }
}

/// The kernels the engine would run a convolution on, for benchmarks and diagnostics.
public enum ConvolutionKernels {
    /// The convolution shapes this process has run so far (each once, by first sight).
    public static func shapesRun() -> [ConvolutionShape] {
        let shapes = PrimitiveCache.shared.entries(of: ConvolutionPlan.self).map {
            ConvolutionShape(input: $0.inputShape, weight: $0.weightShape, geometry: $0.geometry)
        }
        return Array(Set(shapes)).sorted { $0.input.lexicographicallyPrecedes($1.input) || ($0.input == $1.input && $0.weight.lexicographicallyPrecedes($1.weight)) }
    }

    /// oneDNN's implementation names for forward, backward-data and backward-weights.
    public static func implementations(inputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry) -> [String] {
        let plan = ConvolutionPlan(inputShape: inputShape, weightShape: weightShape, geometry: geometry, hasBias: false)
        return [plan.forward, plan.backwardData, plan.backwardWeights].map(\.implementation)
    }
}
