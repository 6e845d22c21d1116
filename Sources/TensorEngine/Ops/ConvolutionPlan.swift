import CDNNL

/// The three passes of one convolution shape (forward, backward-data, backward-weights),
/// each on the kernel that measured fastest for it on this CPU, or on the one
/// `ConvolutionAlgorithms.policy` forces. The candidates:
///
/// - `direct`: oneDNN's direct kernels on the layouts oneDNN prefers (channel-blocked for most
///   channel counts). On AVX-512 also `direct-8`: its AVX2 kernels on 8-channel blocks.
///   oneDNN 2.6 has only its reference kernel (hundreds of times slower) for some passes of
///   an input whose channel count is not a multiple of the channel block (LeNet's 6
///   channels, an image's 1 or 3); such a pass runs with the input channels padded up to the
///   block: a blocked input carries them as zero padding and the weights get zero
///   rows for them, so the result is exact.
/// - `gemm`: oneDNN's im2col + GEMM kernels on plain NCHW, which do the real channels' work
///   only; for few channels they beat a direct kernel padded to 8 or 16.
/// - `winograd`: oneDNN's Winograd F(4x4, 3x3) kernels, where this CPU has them (AVX-512) and
///   the shape suits them: a quarter of the direct kernels' multiplications, at the cost of
///   rounding a little differently (ConvolutionPolicyTests bounds it).
/// - `matrix`, `few-channel`: the engine's own kernels (EngineConvolution), for a kernel that
///   covers its whole input (one matrix product on OpenBLAS) and for stride-1 convolutions with
///   few input or output channels (an image's).
/// - `engine-winograd`: the engine's Winograd F(4x4, 3x3) kernels (WinogradConvolution), on the
///   direct kernels' channel-blocked layout, for CPUs where oneDNN has none.
///
/// Each pass has its own layouts; the op converts its operands to them.
final class ConvolutionPlan {
    let inputShape: [Int], weightShape: [Int], outputShape: [Int]
    let geometry: ConvolutionGeometry
    let hasBias: Bool
    let forward: ConvolutionPass, backwardData: ConvolutionPass, backwardWeights: ConvolutionPass
    /// Forward passes run on this plan, for benchmarks that weigh a shape by its calls per step.
    let forwardCalls = Locked(0)

    init(inputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry, hasBias: Bool,
         policy: ConvolutionPolicy = ConvolutionAlgorithms.policy) {
        self.inputShape = inputShape
        self.weightShape = weightShape
        self.geometry = geometry
        self.hasBias = hasBias
        let natural = KernelShape(input: inputShape, weight: weightShape, geometry: geometry, hasBias: hasBias)
        outputShape = natural.output
        let usable = Self.candidates(natural, policy: policy)
        let kinds: [ConvolutionPassKind] = [.forward, .backwardData, .backwardWeights]
        let chosen: [ConvolutionPass]
        switch policy {
        case .forced(let algorithm):
            chosen = usable.map { passes in passes.first { $0.algorithm == algorithm } ?? passes[0] }
        case .measured:
            let key = ConvolutionChoiceStore.key(inputShape: inputShape, weightShape: weightShape, geometry: geometry, hasBias: hasBias,
                                                 candidates: usable.map { $0.map(\.name) })
            let outputShape = outputShape
            let names = ConvolutionChoiceStore.choice(for: key, isValid: { names in
                names.count == kinds.count && zip(usable, names).allSatisfy { passes, name in passes.contains { $0.name == name } }
            }, measure: {
                let forward = ConvolutionTimer.fastest(usable[0], kind: .forward, forward: nil, inputShape: inputShape, outputShape: outputShape)
                let backward = zip(kinds, usable).dropFirst().map { kind, passes in
                    ConvolutionTimer.fastest(passes, kind: kind, forward: forward, inputShape: inputShape, outputShape: outputShape)
                }
                return ([forward] + backward).map(\.name)
            })
            chosen = zip(usable, names).map { passes, name in passes.first { $0.name == name }! }
        }
        (forward, backwardData, backwardWeights) = (chosen[0], chosen[1], chosen[2])
    }

    /// The kernels each pass (forward, backward-data, backward-weights) may take under
    /// `policy`, without oneDNN's reference kernels where another is usable.
    fileprivate static func candidates(_ natural: KernelShape, policy: ConvolutionPolicy) -> [[ConvolutionPass]] {
        var kernels: [(name: String, algorithm: ConvolutionAlgorithm, kernels: Kernels)] = []
        let direct = Kernels(natural, source: nil, destination: nil)
        kernels.append(("direct", .direct, direct))
        let (channels, groups) = (natural.input[1], natural.geometry.groups)
        if groups == 1, direct.usesReferenceImplementation,
           case .channelBlocked(let block) = direct.destinationLayout, channels % block != 0 {
            let padded = natural.withInputChannels(Layout.paddedChannels(channels, block: block))
            kernels.append(("direct-padded", .direct, Kernels(padded, source: .channelBlocked(block), destination: nil)))
        }
        // On AVX-512 oneDNN blocks channels by 16; its AVX2 kernels, on 8-channel blocks, waste
        // less on channel counts far below a multiple of 16 (LeNet-5's 6), which the timer weighs.
        if policy == .measured, groups == 1, direct.destinationLayout == .channelBlocked(16) {
            let eight = Kernels(natural, source: .channelBlocked(8), destination: .channelBlocked(8))
            if eight.usesReferenceImplementation, channels % 8 != 0 {
                let padded = natural.withInputChannels(Layout.paddedChannels(channels, block: 8))
                kernels.append(("direct-8", .direct, Kernels(padded, source: .channelBlocked(8), destination: .channelBlocked(8))))
            } else {
                kernels.append(("direct-8", .direct, eight))
            }
        }
        if policy != .forced(.direct) {
            kernels.append(("gemm", .gemm, Kernels(natural, source: .plain, destination: .plain)))
        }
        if policy == .measured || policy == .forced(.winograd), natural.mayRunWinograd,
           let winograd = Kernels(natural, source: nil, destination: nil, algorithm: dnnl_convolution_winograd) {
            kernels.append(("winograd", .winograd, winograd))
        }
        let engine = policy == .measured || policy == .forced(.engine) || policy == .forced(.engineWinograd)
        let blocked = direct.sourceLayout == direct.destinationLayout ? direct.sourceLayout : .plain
        return [ConvolutionPassKind.forward, .backwardData, .backwardWeights].map { kind in
            var passes = kernels.map { ConvolutionPass(kind, of: $0.kernels, name: $0.name, algorithm: $0.algorithm, groups: groups) }
            if engine {
                passes += EngineConvolution.kernels(kind, input: natural.input, weight: natural.weight, output: natural.output,
                                                    geometry: natural.geometry, hasBias: natural.hasBias, blocked: blocked)
                    .filter { policy == .measured || policy == .forced($0.algorithm) }
                    .map { ConvolutionPass(engine: $0.kernel, name: $0.name, algorithm: $0.algorithm, layout: $0.layout, shape: natural) }
            }
            let fast = passes.filter { !$0.kernel.isReference }
            return fast.isEmpty ? passes : fast
        }
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
        let channels = backwardWeights.inputChannels
        guard channels != weightShape[1] else { return kernelGradient }
        let (o, c, k) = (weightShape[0], weightShape[1], weightShape[2] * weightShape[3])
        let out = Tensor(uninitializedShape: weightShape)
        for output in 0..<o {
            (out.pointer + output * c * k).update(from: kernelGradient.pointer + output * channels * k, count: c * k)
        }
        return out
    }

    /// The weights `pass` reads: OIHW with its input channels, reordered to its layout.
    func weights(_ weight: Tensor, for pass: ConvolutionPass) -> Tensor {
        let oihw = kernelWeights(weight, inputChannels: pass.inputChannels)
        guard let reorder = pass.weightsReorder else { return oihw }
        let out = Tensor(shape: [pass.weightsCount], storage: Storage(count: pass.weightsCount))
        Reorder.run(reorder, from: UnsafeMutableRawPointer(oihw.pointer), to: UnsafeMutableRawPointer(out.pointer))
        return out
    }
}

enum ConvolutionPassKind {
    case forward, backwardData, backwardWeights
}

/// One pass of a convolution on one kernel: the kernel, the layouts it reads and writes, and
/// its weights.
struct ConvolutionPass {
    let kernel: any ConvolutionKernel
    /// The candidate's name in ConvolutionChoiceStore: direct, direct-padded, gemm, or one of
    /// the engine's kernels (EngineConvolution).
    let name: String
    let algorithm: ConvolutionAlgorithm
    /// The input (forward, backward-weights) or the input gradient (backward-data).
    let activationLayout: Layout
    /// The output (forward) or the output gradient (backward passes).
    let outputLayout: Layout
    /// Input channels of the weights the kernel reads: the real ones, or the input's channels
    /// rounded up to the channel block.
    let inputChannels: Int
    /// Forward and backward-data: from OIHW to the weights the kernel reads. Backward-weights:
    /// from the weight gradient it writes to OIHW. Nil where that is OIHW itself.
    let weightsReorder: Primitive?
    /// Floats of the weights (or weight gradient) buffer the kernel reads (writes).
    let weightsCount: Int

    fileprivate init(_ kind: ConvolutionPassKind, of kernels: Kernels, name: String, algorithm: ConvolutionAlgorithm, groups: Int) {
        self.name = name
        self.algorithm = algorithm
        inputChannels = kernels.shape.weight[1]
        activationLayout = kernels.sourceLayout
        outputLayout = kernels.destinationLayout
        let plain = ConvolutionPlan.plainWeightsDescriptor(kernels.shape.weight, groups: groups)
        let primitive: Primitive
        switch kind {
        case .forward, .backwardData:
            primitive = kind == .forward ? kernels.forward : kernels.backwardData
            let chosen = primitive.descriptor(of: DNNLArgument.weights)
            weightsReorder = Reorder.makeUnlessEqual(from: plain, to: chosen)
            weightsCount = Self.floats(chosen)
        case .backwardWeights:
            primitive = kernels.backwardWeights
            let chosen = primitive.descriptor(of: DNNLArgument.diffWeights)
            weightsReorder = Reorder.makeUnlessEqual(from: chosen, to: plain)
            weightsCount = Self.floats(chosen)
        }
        kernel = primitive
    }

    /// A pass on one of the engine's own kernels: activations in `layout`, OIHW weights.
    fileprivate init(engine kernel: any ConvolutionKernel, name: String, algorithm: ConvolutionAlgorithm, layout: Layout,
                     shape: KernelShape) {
        self.kernel = kernel
        self.name = name
        self.algorithm = algorithm
        activationLayout = layout
        outputLayout = layout
        inputChannels = shape.weight[1]
        weightsReorder = nil
        weightsCount = shape.weight.reduce(1, *)
    }

    private static func floats(_ descriptor: dnnl_memory_desc_t) -> Int { (MemoryDescriptor.bytes(descriptor) + 3) / 4 }
}

/// The shapes a convolution's primitives are described with.
fileprivate struct KernelShape {
    var input: [Int], weight: [Int]
    let output: [Int]
    let geometry: ConvolutionGeometry
    let hasBias: Bool

    /// The shape of a convolution of `input` with `weight`, its output as `geometry` makes it.
    init(input: [Int], weight: [Int], geometry: ConvolutionGeometry, hasBias: Bool) {
        self.input = input
        self.weight = weight
        output = [input[0], weight[0], geometry.outputSize(input[2], kernel: weight[2]), geometry.outputSize(input[3], kernel: weight[3])]
        self.geometry = geometry
        self.hasBias = hasBias
    }

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

    /// oneDNN 2.6's Winograd kernels (F(4x4, 3x3), AVX-512 only) take 3x3 kernels at stride 1
    /// without groups; they decide the rest (channel counts, instruction set) themselves.
    var mayRunWinograd: Bool {
        weight[2] == 3 && weight[3] == 3 && geometry.stride == 1 && geometry.groups == 1
    }
}

/// The three primitives of one kernel shape on one of oneDNN's algorithms.
fileprivate struct Kernels {
    let shape: KernelShape
    let forward: Primitive, backwardData: Primitive, backwardWeights: Primitive
    let sourceLayout: Layout, destinationLayout: Layout

    /// `source` and `destination` fix the input's and output's layouts; nil lets oneDNN choose.
    init(_ shape: KernelShape, source: Layout?, destination: Layout?) {
        guard let direct = Kernels(shape, source: source, destination: destination, algorithm: dnnl_convolution_direct) else {
            fatalError("oneDNN has no direct kernel for one of the passes of \(shape.what)")
        }
        self = direct
    }

    /// Oneself on `algorithm`, nil where this CPU lacks one of its three passes (oneDNN has
    /// every pass of the direct algorithm).
    init?(_ shape: KernelShape, source: Layout?, destination: Layout?, algorithm: dnnl_alg_kind_t) {
        self.shape = shape
        guard var chosen = Self.makeForward(shape, source: source, destination: destination, algorithm: algorithm) else { return nil }
        var src = source ?? MemoryDescriptor.layout(of: chosen.descriptor(of: DNNLArgument.src), shape: shape.input)
        var dst = destination ?? MemoryDescriptor.layout(of: chosen.descriptor(of: DNNLArgument.dst), shape: shape.output)
        if src == nil || dst == nil {
            // oneDNN picked a layout the engine's own kernels do not read: ask for plain.
            src = source ?? .plain
            dst = .plain
            guard let plain = Self.makeForward(shape, source: src, destination: .plain, algorithm: algorithm) else { return nil }
            chosen = plain
        }
        guard let backwardData = Self.makeBackwardData(shape, forward: chosen, algorithm: algorithm),
              let backwardWeights = Self.makeBackwardWeights(shape, forward: chosen, algorithm: algorithm) else { return nil }
        forward = chosen
        sourceLayout = src!
        destinationLayout = dst!
        self.backwardData = backwardData
        self.backwardWeights = backwardWeights
    }

    var usesReferenceImplementation: Bool {
        [forward, backwardData, backwardWeights].contains { $0.isReference }
    }

    private static func makeForward(_ shape: KernelShape, source: Layout?, destination: Layout?, algorithm: dnnl_alg_kind_t) -> Primitive? {
        var src = source.map { MemoryDescriptor.make(shape: shape.input, layout: $0) } ?? MemoryDescriptor.any(dims: shape.input)
        var dst = destination.map { MemoryDescriptor.make(shape: shape.output, layout: $0) } ?? MemoryDescriptor.any(dims: shape.output)
        var weights = MemoryDescriptor.any(dims: shape.weightDims)
        var bias = MemoryDescriptor.make(dims: [shape.weight[0]], tag: dnnl_a)
        var desc = dnnl_convolution_desc_t()
        let status = shape.withGeometry { strides, l, r in
            withUnsafePointer(to: &bias) { biasPointer in
                dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, algorithm,
                                                   &src, &weights, shape.hasBias ? biasPointer : nil, &dst, strides, l, r)
            }
        }
        DNNL.check(status, "describing \(shape.what)")
        return withUnsafePointer(to: &desc) { Primitive.ifImplemented(opDescriptor: $0, what: "\(shape.what) forward") }
    }

    private static func makeBackwardData(_ shape: KernelShape, forward: Primitive, algorithm: dnnl_alg_kind_t) -> Primitive? {
        var diffSrc = forward.descriptor(of: DNNLArgument.src)
        // Backward-data prefers its own weight blocking; a fixed one can force the slow
        // reference kernel.
        var weights = MemoryDescriptor.any(dims: shape.weightDims)
        var diffDst = forward.descriptor(of: DNNLArgument.dst)
        var desc = dnnl_convolution_desc_t()
        let status = shape.withGeometry { strides, l, r in
            dnnl_convolution_backward_data_desc_init(&desc, algorithm, &diffSrc, &weights, &diffDst, strides, l, r)
        }
        DNNL.check(status, "describing \(shape.what) backward-data")
        return withUnsafePointer(to: &desc) { Primitive.ifImplemented(opDescriptor: $0, hint: forward, what: "\(shape.what) backward-data") }
    }

    private static func makeBackwardWeights(_ shape: KernelShape, forward: Primitive, algorithm: dnnl_alg_kind_t) -> Primitive? {
        var src = forward.descriptor(of: DNNLArgument.src)
        var diffWeights = MemoryDescriptor.any(dims: shape.weightDims)
        var diffBias = MemoryDescriptor.make(dims: [shape.weight[0]], tag: dnnl_a)
        var diffDst = forward.descriptor(of: DNNLArgument.dst)
        var desc = dnnl_convolution_desc_t()
        let status = shape.withGeometry { strides, l, r in
            withUnsafePointer(to: &diffBias) { biasPointer in
                dnnl_convolution_backward_weights_desc_init(&desc, algorithm, &src, &diffWeights,
                                                            shape.hasBias ? biasPointer : nil, &diffDst, strides, l, r)
            }
        }
        DNNL.check(status, "describing \(shape.what) backward-weights")
        return withUnsafePointer(to: &desc) { Primitive.ifImplemented(opDescriptor: $0, hint: forward, what: "\(shape.what) backward-weights") }
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
    /// The convolution shapes this process has run so far, each with the forward passes run
    /// on it.
    public static func shapesRun() -> [(shape: ConvolutionShape, calls: Int)] {
        var calls: [ConvolutionShape: Int] = [:]
        for plan in PrimitiveCache.shared.entries(of: ConvolutionPlan.self) {
            let shape = ConvolutionShape(input: plan.inputShape, weight: plan.weightShape, geometry: plan.geometry)
            calls[shape, default: 0] += plan.forwardCalls.withLock { $0 }
        }
        return calls.map { (shape: $0.key, calls: $0.value) }.sorted {
            $0.shape.input.lexicographicallyPrecedes($1.shape.input)
                || ($0.shape.input == $1.shape.input && $0.shape.weight.lexicographicallyPrecedes($1.shape.weight))
        }
    }

    /// The names of the kernels each pass may take under `policy` (forward, backward-data,
    /// backward-weights), as ConvolutionChoiceStore keys and stores them.
    public static func candidateNames(inputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry, hasBias: Bool,
                                      policy: ConvolutionPolicy = .measured) -> [[String]] {
        let shape = KernelShape(input: inputShape, weight: weightShape, geometry: geometry, hasBias: hasBias)
        return ConvolutionPlan.candidates(shape, policy: policy).map { $0.map(\.name) }
    }

    /// The implementation names for forward, backward-data and backward-weights: oneDNN's
    /// ("jit:avx2"), or "engine:" and the engine kernel's.
    public static func implementations(inputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry,
                                       policy: ConvolutionPolicy = ConvolutionAlgorithms.policy) -> [String] {
        let plan = ConvolutionPlan(inputShape: inputShape, weightShape: weightShape, geometry: geometry, hasBias: false, policy: policy)
        return [plan.forward, plan.backwardData, plan.backwardWeights].map(\.kernel.implementation)
    }
}
