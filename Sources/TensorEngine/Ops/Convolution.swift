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

    /// A reorder between two layouts, or nil when they are the same.
    static func makeUnlessEqual(from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t) -> Primitive? {
        var src = source, dst = destination
        return dnnl_memory_desc_equal(&src, &dst) == 1 ? nil : make(from: source, to: destination)
    }

    static func run(_ reorder: Primitive, from source: UnsafeMutableRawPointer, to destination: UnsafeMutableRawPointer) {
        reorder.execute([(DNNLArgument.from, source), (DNNLArgument.to, destination)])
    }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as PyTorch) of x (N, C, H, W) with weight
    /// (O, C/groups, kH, kW) and an optional bias (O), plus `residual` (the output's shape)
    /// when given: the same values as conv2d(...) + residual, added as the output is written
    /// where the kernel can (a residual block's sum without its own pass over memory). The
    /// output is in the layout oneDNN prefers (channel-blocked for most channel counts).
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                              geometry: ConvolutionGeometry = ConvolutionGeometry(), adding residual: Tensor? = nil) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4, "conv2d needs 4-D input and weight, got \(x.shape) and \(weight.shape)")
        precondition(x.shape[1] == weight.shape[1] * geometry.groups,
                     "conv2d: input has \(x.shape[1]) channels, weight \(weight.shape) with \(geometry.groups) groups expects \(weight.shape[1] * geometry.groups)")
        precondition(weight.shape[0] % geometry.groups == 0, "conv2d: \(weight.shape[0]) outputs do not split into \(geometry.groups) groups")
        if let bias { precondition(bias.shape == [weight.shape[0]], "conv2d: bias \(bias.shape) for \(weight.shape[0]) outputs") }
        let policy = ConvolutionAlgorithms.policy
        let key = PrimitiveKey(op: "conv2d", numbers: x.shape + weight.shape + [geometry.stride, geometry.padding, geometry.groups,
                                                                                bias == nil ? 0 : 1, policy.code])
        let plan = PrimitiveCache.shared.entry(key) {
            ConvolutionPlan(inputShape: x.shape, weightShape: weight.shape, geometry: geometry, hasBias: bias != nil, policy: policy)
        }
        plan.forwardCalls.withLock { $0 += 1 }
        let forward = plan.forward
        let input = LayoutConversion.convert(x, to: forward.activationLayout).detached()
        let weights = plan.weights(weight, for: forward)
        let out = Tensor(uninitializedShape: plan.outputShape, layout: forward.outputLayout)
        var arguments: [(Int32, UnsafeMutableRawPointer)] = [
            (DNNLArgument.src, UnsafeMutableRawPointer(input.pointer)),
            (DNNLArgument.weights, UnsafeMutableRawPointer(weights.pointer)),
            (DNNLArgument.dst, UnsafeMutableRawPointer(out.pointer)),
        ]
        if let bias { arguments.append((DNNLArgument.bias, UnsafeMutableRawPointer(bias.pointer))) }
        if let residual {
            precondition(residual.shape == plan.outputShape, "conv2d: residual \(residual.shape) for an output of \(plan.outputShape)")
        }
        let addend = residual.map { LayoutConversion.convert($0, to: forward.outputLayout).detached() }
        if let addend, forward.kernel.addsResidual {
            arguments.append((EngineArgument.residual, UnsafeMutableRawPointer(addend.pointer)))
            forward.kernel.execute(arguments)
        } else {
            forward.kernel.execute(arguments)
            if let addend { Arithmetic.addInPlace(out, addend) }
        }

        let inputs = [x, weight] + (bias.map { [$0] } ?? []) + (residual.map { [$0] } ?? [])
        record("conv2d", inputs: inputs, outputs: [out]) { grads in
            guard let g = grads[0] else { return inputs.map { _ in nil } }
            // Both backward passes read the output gradient; where they read it in the same
            // layout it is converted once.
            var converted: (layout: Layout, tensor: Tensor)?
            func outputGradient(in layout: Layout) -> Tensor {
                if let converted, converted.layout == layout { return converted.tensor }
                let tensor = LayoutConversion.convert(g, to: layout)
                converted = (layout, tensor)
                return tensor
            }
            var result: [Tensor?] = []
            if x.needsGradient {
                let pass = plan.backwardData
                let dy = outputGradient(in: pass.outputLayout)
                let dx = Tensor(uninitializedShape: x.shape, layout: pass.activationLayout)
                // The weights cannot change between forward and backward (the optimizer steps
                // after backward), so backward-data reads the parameter itself.
                let dataWeights = plan.weights(weight, for: pass)
                pass.kernel.execute([
                    (DNNLArgument.diffDst, UnsafeMutableRawPointer(dy.pointer)),
                    (DNNLArgument.weights, UnsafeMutableRawPointer(dataWeights.pointer)),
                    (DNNLArgument.diffSrc, UnsafeMutableRawPointer(dx.pointer)),
                ])
                // The padded input channels received gradients too; they are not part of x.
                if pass.inputChannels != weight.shape[1] { dx.zeroChannelPadding() }
                result.append(dx)
            } else {
                result.append(nil)
            }
            let needsBias = bias?.needsGradient ?? false
            if weight.needsGradient || needsBias {
                let pass = plan.backwardWeights
                let dy = outputGradient(in: pass.outputLayout)
                let source = pass.activationLayout == forward.activationLayout ? input : LayoutConversion.convert(x, to: pass.activationLayout)
                let dwPlain = Tensor(uninitializedShape: [weight.shape[0], pass.inputChannels, weight.shape[2], weight.shape[3]])
                let reorder = pass.weightsReorder
                let dwChosen = reorder == nil ? dwPlain : Tensor(shape: [pass.weightsCount], storage: Storage(count: pass.weightsCount))
                let db = Tensor(uninitializedShape: [weight.shape[0]])
                var arguments: [(Int32, UnsafeMutableRawPointer)] = [
                    (DNNLArgument.src, UnsafeMutableRawPointer(source.pointer)),
                    (DNNLArgument.diffDst, UnsafeMutableRawPointer(dy.pointer)),
                    (DNNLArgument.diffWeights, UnsafeMutableRawPointer(dwChosen.pointer)),
                ]
                if bias != nil { arguments.append((DNNLArgument.diffBias, UnsafeMutableRawPointer(db.pointer))) }
                pass.kernel.execute(arguments)
                if let reorder { Reorder.run(reorder, from: UnsafeMutableRawPointer(dwChosen.pointer), to: UnsafeMutableRawPointer(dwPlain.pointer)) }
                result.append(weight.needsGradient ? plan.logicalWeightGradient(dwPlain) : nil)
                if bias != nil { result.append(needsBias ? db : nil) }
            } else {
                result.append(nil)
                if bias != nil { result.append(nil) }
            }
            if let residual { result.append(residual.needsGradient ? g : nil) }
            return result
        }
        return out
    }
}
