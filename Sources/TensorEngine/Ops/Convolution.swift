import CDNNL

/// Geometry of a 2-D convolution, PyTorch's conventions: weight (O, I/groups, kH, kW).
public struct ConvolutionGeometry: Hashable, Sendable {
    public var stride: Int
    public var padding: Int
    public var groups: Int

    public init(stride: Int = 1, padding: Int = 0, groups: Int = 1) {
        self.stride = stride
        self.padding = padding
        self.groups = groups
    }

    func outputSize(_ input: Int, kernel: Int) -> Int { (input + 2 * padding - kernel) / stride + 1 }
}

/// The oneDNN primitives for one convolution shape: forward, backward-data and
/// backward-weights, the layouts oneDNN chose for activations (`format_tag_any`), and the
/// reorders between PyTorch's OIHW weights and oneDNN's blocked weights.
final class ConvolutionPlan {
    let inputShape: [Int], weightShape: [Int], outputShape: [Int]
    let geometry: ConvolutionGeometry
    let hasBias: Bool
    let forward: Primitive
    let sourceLayout: Layout, destinationLayout: Layout
    private let weightsDescriptor: dnnl_memory_desc_t
    let weightsArePlain: Bool
    let weightsReorder: Primitive?
    private(set) lazy var backwardData: Primitive = makeBackwardData()
    private(set) lazy var backwardWeights: Primitive = makeBackwardWeights()
    private(set) lazy var diffWeightsReorder: Primitive? = makeDiffWeightsReorder()

    init(inputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry, hasBias: Bool) {
        self.inputShape = inputShape
        self.weightShape = weightShape
        self.geometry = geometry
        self.hasBias = hasBias
        let (n, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let (o, kh, kw) = (weightShape[0], weightShape[2], weightShape[3])
        outputShape = [n, o, geometry.outputSize(h, kernel: kh), geometry.outputSize(w, kernel: kw)]

        var chosen = Self.makeForward(inputShape: inputShape, weightShape: weightShape, outputShape: outputShape,
                                      geometry: geometry, hasBias: hasBias, layouts: nil)
        var src = MemoryDescriptor.layout(of: chosen.descriptor(of: DNNLArgument.src), shape: inputShape)
        var dst = MemoryDescriptor.layout(of: chosen.descriptor(of: DNNLArgument.dst), shape: outputShape)
        if src == nil || dst == nil {
            // oneDNN picked a layout the engine's own kernels do not read: ask for plain.
            src = .plain
            dst = .plain
            chosen = Self.makeForward(inputShape: inputShape, weightShape: weightShape, outputShape: outputShape,
                                      geometry: geometry, hasBias: hasBias, layouts: (.plain, .plain))
        }
        forward = chosen
        sourceLayout = src!
        destinationLayout = dst!
        weightsDescriptor = forward.descriptor(of: DNNLArgument.weights)
        var plainWeights = Self.plainWeightsDescriptor(weightShape, groups: geometry.groups)
        var chosenWeights = weightsDescriptor
        weightsArePlain = dnnl_memory_desc_equal(&plainWeights, &chosenWeights) == 1
        weightsReorder = weightsArePlain ? nil : Reorder.make(from: plainWeights, to: weightsDescriptor)
    }

    /// PyTorch's OIHW weights (GOIHW with groups), as oneDNN describes them.
    static func plainWeightsDescriptor(_ weightShape: [Int], groups: Int) -> dnnl_memory_desc_t {
        MemoryDescriptor.make(dims: weightDims(weightShape, groups: groups), tag: groups == 1 ? dnnl_abcd : dnnl_abcde)
    }

    var plainWeightsDescriptor: dnnl_memory_desc_t { Self.plainWeightsDescriptor(weightShape, groups: geometry.groups) }

    /// Floats needed to hold the weights in oneDNN's chosen layout.
    var blockedWeightsCount: Int { (MemoryDescriptor.bytes(weightsDescriptor) + 3) / 4 }

    static func weightDims(_ shape: [Int], groups: Int) -> [Int] {
        groups == 1 ? shape : [groups, shape[0] / groups, shape[1], shape[2], shape[3]]
    }

    /// `layouts` fixes the source and destination layouts; nil lets oneDNN choose.
    private static func makeForward(inputShape: [Int], weightShape: [Int], outputShape: [Int], geometry: ConvolutionGeometry,
                                    hasBias: Bool, layouts: (source: Layout, destination: Layout)?) -> Primitive {
        var src = layouts.map { MemoryDescriptor.make(shape: inputShape, layout: $0.source) } ?? MemoryDescriptor.any(dims: inputShape)
        var dst = layouts.map { MemoryDescriptor.make(shape: outputShape, layout: $0.destination) } ?? MemoryDescriptor.any(dims: outputShape)
        var weights = MemoryDescriptor.any(dims: weightDims(weightShape, groups: geometry.groups))
        var bias = MemoryDescriptor.make(dims: [weightShape[0]], tag: dnnl_a)
        var desc = dnnl_convolution_desc_t()
        let (padL, padR) = paddings(inputShape: inputShape, weightShape: weightShape, outputShape: outputShape, geometry: geometry)
        let status = withDims([geometry.stride, geometry.stride]) { strides in
            withDims(padL) { l in
                withDims(padR) { r in
                    withUnsafePointer(to: &bias) { biasPointer in
                        dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, dnnl_convolution_direct,
                                                           &src, &weights, hasBias ? biasPointer : nil, &dst, strides, l, r)
                    }
                }
            }
        }
        DNNL.check(status, "describing convolution \(inputShape) * \(weightShape)")
        return withUnsafePointer(to: &desc) { Primitive(opDescriptor: $0, what: "convolution forward \(inputShape) * \(weightShape)") }
    }

    static func paddings(inputShape: [Int], weightShape: [Int], outputShape: [Int], geometry: ConvolutionGeometry) -> ([Int], [Int]) {
        let p = geometry.padding, s = geometry.stride
        let right = (0..<2).map { axis in (outputShape[2 + axis] - 1) * s + weightShape[2 + axis] - inputShape[2 + axis] - p }
        return ([p, p], right)
    }

    private func makeBackwardData() -> Primitive {
        var diffSrc = forward.descriptor(of: DNNLArgument.src)
        // Backward-data prefers its own weight blocking; a fixed one can force the slow
        // reference kernel.
        var weights = MemoryDescriptor.any(dims: Self.weightDims(weightShape, groups: geometry.groups))
        var diffDst = forward.descriptor(of: DNNLArgument.dst)
        var desc = dnnl_convolution_desc_t()
        let (padL, padR) = Self.paddings(inputShape: inputShape, weightShape: weightShape, outputShape: outputShape, geometry: geometry)
        let status = withDims([geometry.stride, geometry.stride]) { strides in
            withDims(padL) { l in withDims(padR) { r in
                dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &diffSrc, &weights, &diffDst, strides, l, r)
            } }
        }
        DNNL.check(status, "describing convolution backward-data")
        return withUnsafePointer(to: &desc) { Primitive(opDescriptor: $0, hint: forward, what: "convolution backward-data \(inputShape) * \(weightShape)") }
    }

    private func makeBackwardWeights() -> Primitive {
        var src = forward.descriptor(of: DNNLArgument.src)
        var diffWeights = MemoryDescriptor.any(dims: Self.weightDims(weightShape, groups: geometry.groups))
        var diffBias = MemoryDescriptor.make(dims: [weightShape[0]], tag: dnnl_a)
        var diffDst = forward.descriptor(of: DNNLArgument.dst)
        var desc = dnnl_convolution_desc_t()
        let (padL, padR) = Self.paddings(inputShape: inputShape, weightShape: weightShape, outputShape: outputShape, geometry: geometry)
        let status = withDims([geometry.stride, geometry.stride]) { strides in
            withDims(padL) { l in withDims(padR) { r in
                withUnsafePointer(to: &diffBias) { biasPointer in
                    dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &src, &diffWeights,
                                                                hasBias ? biasPointer : nil, &diffDst, strides, l, r)
                }
            } }
        }
        DNNL.check(status, "describing convolution backward-weights")
        return withUnsafePointer(to: &desc) { Primitive(opDescriptor: $0, hint: forward, what: "convolution backward-weights \(inputShape) * \(weightShape)") }
    }

    /// The reorder from OIHW weights to what backward-data reads (nil if it reads OIHW).
    private(set) lazy var backwardDataWeightsReorder: Primitive? = {
        var chosen = backwardData.descriptor(of: DNNLArgument.weights)
        var plain = plainWeightsDescriptor
        return dnnl_memory_desc_equal(&chosen, &plain) == 1 ? nil : Reorder.make(from: plain, to: chosen)
    }()

    var backwardDataWeightsCount: Int { (MemoryDescriptor.bytes(backwardData.descriptor(of: DNNLArgument.weights)) + 3) / 4 }

    var diffWeightsCount: Int { (MemoryDescriptor.bytes(backwardWeights.descriptor(of: DNNLArgument.diffWeights)) + 3) / 4 }

    private func makeDiffWeightsReorder() -> Primitive? {
        var chosen = backwardWeights.descriptor(of: DNNLArgument.diffWeights)
        var plain = plainWeightsDescriptor
        if dnnl_memory_desc_equal(&chosen, &plain) == 1 { return nil }
        return Reorder.make(from: chosen, to: plain)
    }
}

enum Reorder {
    static func make(from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t) -> Primitive {
        var src = source, dst = destination
        var pd: dnnl_primitive_desc_t?
        let engine = DNNL.shared.engine
        let attr = Primitive.userScratchpadAttributes()
        DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, attr), "creating a reorder")
        dnnl_primitive_attr_destroy(attr)
        return Primitive(descriptor: pd!, what: "reorder")
    }

    static func run(_ reorder: Primitive, from source: UnsafeMutableRawPointer, to destination: UnsafeMutableRawPointer) {
        reorder.execute([(DNNLArgument.from, source), (DNNLArgument.to, destination)])
    }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as PyTorch) of x (N, C, H, W) with weight
    /// (O, C/groups, kH, kW) and an optional bias (O). The output is in the layout oneDNN
    /// prefers (channel-blocked for most channel counts).
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                              geometry: ConvolutionGeometry = ConvolutionGeometry()) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4, "conv2d needs 4-D input and weight, got \(x.shape) and \(weight.shape)")
        precondition(x.shape[1] == weight.shape[1] * geometry.groups,
                     "conv2d: input has \(x.shape[1]) channels, weight \(weight.shape) with \(geometry.groups) groups expects \(weight.shape[1] * geometry.groups)")
        precondition(weight.shape[0] % geometry.groups == 0, "conv2d: \(weight.shape[0]) outputs do not split into \(geometry.groups) groups")
        if let bias { precondition(bias.shape == [weight.shape[0]], "conv2d: bias \(bias.shape) for \(weight.shape[0]) outputs") }
        let key = PrimitiveKey(op: "conv2d", numbers: x.shape + weight.shape + [geometry.stride, geometry.padding, geometry.groups, bias == nil ? 0 : 1])
        let plan = PrimitiveCache.shared.entry(key) {
            ConvolutionPlan(inputShape: x.shape, weightShape: weight.shape, geometry: geometry, hasBias: bias != nil)
        }
        let input = LayoutConversion.convert(x, to: plan.sourceLayout).detached()
        let weights: Tensor
        if let reorder = plan.weightsReorder {
            weights = Tensor(shape: [plan.blockedWeightsCount], storage: Storage(count: plan.blockedWeightsCount))
            Reorder.run(reorder, from: UnsafeMutableRawPointer(weight.pointer), to: UnsafeMutableRawPointer(weights.pointer))
        } else {
            weights = weight.detached()
        }
        let out = Tensor(uninitializedShape: plan.outputShape, layout: plan.destinationLayout)
        var arguments: [(Int32, UnsafeMutableRawPointer)] = [
            (DNNLArgument.src, UnsafeMutableRawPointer(input.pointer)),
            (DNNLArgument.weights, UnsafeMutableRawPointer(weights.pointer)),
            (DNNLArgument.dst, UnsafeMutableRawPointer(out.pointer)),
        ]
        if let bias { arguments.append((DNNLArgument.bias, UnsafeMutableRawPointer(bias.pointer))) }
        plan.forward.execute(arguments)

        let inputs = [x, weight] + (bias.map { [$0] } ?? [])
        record("conv2d", inputs: inputs, outputs: [out]) { grads in
            guard let g = grads[0] else { return inputs.map { _ in nil } }
            let dy = LayoutConversion.convert(g, to: plan.destinationLayout)
            var result: [Tensor?] = []
            if x.needsGradient {
                let dx = Tensor(uninitializedShape: x.shape, layout: plan.sourceLayout)
                // The weights cannot change between forward and backward (the optimizer steps
                // after backward), so backward-data reads the parameter itself.
                var dataWeights = weight.detached()
                if let reorder = plan.backwardDataWeightsReorder {
                    dataWeights = Tensor(shape: [plan.backwardDataWeightsCount], storage: Storage(count: plan.backwardDataWeightsCount))
                    Reorder.run(reorder, from: UnsafeMutableRawPointer(weight.pointer), to: UnsafeMutableRawPointer(dataWeights.pointer))
                }
                plan.backwardData.execute([
                    (DNNLArgument.diffDst, UnsafeMutableRawPointer(dy.pointer)),
                    (DNNLArgument.weights, UnsafeMutableRawPointer(dataWeights.pointer)),
                    (DNNLArgument.diffSrc, UnsafeMutableRawPointer(dx.pointer)),
                ])
                result.append(dx)
            } else {
                result.append(nil)
            }
            let needsBias = bias?.needsGradient ?? false
            if weight.needsGradient || needsBias {
                let dwPlain = Tensor(uninitializedShape: weight.shape)
                let reorder = plan.diffWeightsReorder
                let dwChosen = reorder == nil ? dwPlain : Tensor(shape: [plan.diffWeightsCount], storage: Storage(count: plan.diffWeightsCount))
                let db = Tensor(uninitializedShape: [weight.shape[0]])
                var arguments: [(Int32, UnsafeMutableRawPointer)] = [
                    (DNNLArgument.src, UnsafeMutableRawPointer(input.pointer)),
                    (DNNLArgument.diffDst, UnsafeMutableRawPointer(dy.pointer)),
                    (DNNLArgument.diffWeights, UnsafeMutableRawPointer(dwChosen.pointer)),
                ]
                if bias != nil { arguments.append((DNNLArgument.diffBias, UnsafeMutableRawPointer(db.pointer))) }
                plan.backwardWeights.execute(arguments)
                if let reorder { Reorder.run(reorder, from: UnsafeMutableRawPointer(dwChosen.pointer), to: UnsafeMutableRawPointer(dwPlain.pointer)) }
                result.append(weight.needsGradient ? dwPlain : nil)
                if bias != nil { result.append(needsBias ? db : nil) }
            } else {
                result.append(nil)
                if bias != nil { result.append(nil) }
            }
            return result
        }
        return out
    }
}
