import CDNNL

/// Max and average pooling on oneDNN, in the input's layout. Average pooling counts the
/// zero padding in the divisor, as PyTorch's default (count_include_pad=True).
public enum PoolingKind: Int, Sendable {
    case max, average
}

final class PoolingPlan {
    let forward: Primitive
    let outputShape: [Int]
    let workspaceCount: Int
    private let description: (alg: dnnl_alg_kind_t, src: dnnl_memory_desc_t, dst: dnnl_memory_desc_t,
                              strides: [Int], kernel: [Int], padL: [Int], padR: [Int])
    private(set) lazy var backward: Primitive = makeBackward()

    init(inputShape: [Int], layout: Layout, kind: PoolingKind, kernel: Int, stride: Int, padding: Int) {
        let out = (0..<2).map { (inputShape[2 + $0] + 2 * padding - kernel) / stride + 1 }
        outputShape = [inputShape[0], inputShape[1], out[0], out[1]]
        let padR = (0..<2).map { (out[$0] - 1) * stride + kernel - inputShape[2 + $0] - padding }
        let alg = kind == .max ? dnnl_pooling_max : dnnl_pooling_avg_include_padding
        description = (alg, MemoryDescriptor.make(shape: inputShape, layout: layout), MemoryDescriptor.make(shape: outputShape, layout: layout),
                       [stride, stride], [kernel, kernel], [padding, padding], padR)
        var desc = dnnl_pooling_desc_t()
        var src = description.src, dst = description.dst
        let d = description
        let status = withDims(d.strides) { s in withDims(d.kernel) { k in withDims(d.padL) { l in withDims(d.padR) { r in
            dnnl_pooling_forward_desc_init(&desc, dnnl_forward_training, alg, &src, &dst, s, k, l, r)
        } } } }
        DNNL.check(status, "describing pooling over \(inputShape)")
        forward = withUnsafePointer(to: &desc) { Primitive(opDescriptor: $0, what: "pooling forward \(inputShape)") }
        if let md = dnnl_primitive_desc_query_md(forward.descriptor, dnnl_query_workspace_md, 0) {
            workspaceCount = (MemoryDescriptor.bytes(md.pointee) + 3) / 4
        } else {
            workspaceCount = 0
        }
    }

    private func makeBackward() -> Primitive {
        var desc = dnnl_pooling_desc_t()
        var src = description.src, dst = description.dst
        let d = description
        let status = withDims(d.strides) { s in withDims(d.kernel) { k in withDims(d.padL) { l in withDims(d.padR) { r in
            dnnl_pooling_backward_desc_init(&desc, d.alg, &src, &dst, s, k, l, r)
        } } } }
        DNNL.check(status, "describing pooling backward")
        return withUnsafePointer(to: &desc) { Primitive(opDescriptor: $0, hint: forward, what: "pooling backward") }
    }
}

extension Tensor {
    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        pool2d(.max, kernel: kernel, stride: stride ?? kernel, padding: padding)
    }

    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        pool2d(.average, kernel: kernel, stride: stride ?? kernel, padding: padding)
    }

    private func pool2d(_ kind: PoolingKind, kernel: Int, stride: Int, padding: Int) -> Tensor {
        precondition(rank == 4, "pooling needs a 4-D input, got \(shape)")
        precondition(shape[2] + 2 * padding >= kernel && shape[3] + 2 * padding >= kernel,
                     "pooling window \(kernel) is larger than the padded input \(shape)")
        let layout = self.layout
        let key = PrimitiveKey(op: "pool", numbers: shape + [kind.rawValue, kernel, stride, padding, layout.blockCode])
        let plan = PrimitiveCache.shared.entry(key) {
            PoolingPlan(inputShape: shape, layout: layout, kind: kind, kernel: kernel, stride: stride, padding: padding)
        }
        let out = Tensor(uninitializedShape: plan.outputShape, layout: layout)
        let workspace = plan.workspaceCount > 0 ? Storage(count: plan.workspaceCount) : nil
        var arguments: [(Int32, UnsafeMutableRawPointer)] = [
            (DNNLArgument.src, UnsafeMutableRawPointer(pointer)), (DNNLArgument.dst, UnsafeMutableRawPointer(out.pointer)),
        ]
        if let workspace { arguments.append((DNNLArgument.workspace, UnsafeMutableRawPointer(workspace.pointer))) }
        plan.forward.execute(arguments)
        let inputShape = shape
        record(kind == .max ? "max-pool" : "avg-pool", inputs: [self], outputs: [out]) { grads in
            guard let g = grads[0] else { return [nil] }
            let dy = LayoutConversion.convert(g, to: layout)
            let dx = Tensor(uninitializedShape: inputShape, layout: layout)
            var arguments: [(Int32, UnsafeMutableRawPointer)] = [
                (DNNLArgument.diffDst, UnsafeMutableRawPointer(dy.pointer)), (DNNLArgument.diffSrc, UnsafeMutableRawPointer(dx.pointer)),
            ]
            if let workspace { arguments.append((DNNLArgument.workspace, UnsafeMutableRawPointer(workspace.pointer))) }
            plan.backward.execute(arguments)
            return [dx]
        }
        return out
    }
}

extension Layout {
    /// A number that tells layouts apart in primitive keys.
    var blockCode: Int {
        switch self {
        case .plain: 0
        case .channelBlocked(let block): block
        }
    }
}
