import CDNNL

/// oneDNN's pooling primitives for one shape and layout, executed bare on tensors' buffers:
/// the second implementation that the engine's pooling kernels are checked and timed
/// against.
public final class OneDNNPooling {
    private let forward: Primitive, backward: Primitive
    private let workspace: Storage?
    public let outputShape: [Int]
    public let layout: Layout

    public init(inputShape: [Int], layout: Layout, kind: PoolingKind, kernel: Int, stride: Int, padding: Int) {
        let window = PoolingWindow(inputShape: inputShape, kernel: kernel, stride: stride, padding: padding)
        outputShape = [inputShape[0], inputShape[1], window.outputHeight, window.outputWidth]
        self.layout = layout
        let padRight = [window.outputHeight, window.outputWidth].enumerated().map { axis, out in
            (out - 1) * stride + kernel - inputShape[2 + axis] - padding
        }
        let algorithm = kind == .max ? dnnl_pooling_max : dnnl_pooling_avg_include_padding
        var src = MemoryDescriptor.make(shape: inputShape, layout: layout)
        var dst = MemoryDescriptor.make(shape: outputShape, layout: layout)
        func describe(_ body: (UnsafePointer<Int64>, UnsafePointer<Int64>, UnsafePointer<Int64>, UnsafePointer<Int64>) -> dnnl_status_t) {
            let status = withDims([stride, stride]) { s in withDims([kernel, kernel]) { k in
                withDims([padding, padding]) { l in withDims(padRight) { r in body(s, k, l, r) } }
            } }
            DNNL.check(status, "describing oneDNN pooling over \(inputShape)")
        }
        var forwardDescriptor = dnnl_pooling_desc_t()
        describe { dnnl_pooling_forward_desc_init(&forwardDescriptor, dnnl_forward_training, algorithm, &src, &dst, $0, $1, $2, $3) }
        let forward = withUnsafePointer(to: &forwardDescriptor) { Primitive(opDescriptor: $0, what: "oneDNN pooling forward") }
        self.forward = forward
        var backwardDescriptor = dnnl_pooling_desc_t()
        describe { dnnl_pooling_backward_desc_init(&backwardDescriptor, algorithm, &src, &dst, $0, $1, $2, $3) }
        backward = withUnsafePointer(to: &backwardDescriptor) { Primitive(opDescriptor: $0, hint: forward, what: "oneDNN pooling backward") }
        if let md = dnnl_primitive_desc_query_md(forward.descriptor, dnnl_query_workspace_md, 0) {
            workspace = Storage(count: (MemoryDescriptor.bytes(md.pointee) + 3) / 4)
        } else {
            workspace = nil
        }
    }

    /// oneDNN's implementation name, e.g. "jit:avx2".
    public var implementation: String { forward.implementation }

    /// The pooled `x` (in `layout`); `into` receives it.
    public func forward(_ x: Tensor, into out: Tensor) {
        precondition(x.layout == layout && out.layout == layout, "oneDNN pooling was planned for \(layout)")
        forward.execute(arguments([(DNNLArgument.src, x), (DNNLArgument.dst, out)]))
    }

    /// dx for the gradient `dy` of the last forward's output.
    public func backward(_ dy: Tensor, into dx: Tensor) {
        precondition(dy.layout == layout && dx.layout == layout, "oneDNN pooling was planned for \(layout)")
        backward.execute(arguments([(DNNLArgument.diffDst, dy), (DNNLArgument.diffSrc, dx)]))
    }

    private func arguments(_ tensors: [(Int32, Tensor)]) -> [(Int32, UnsafeMutableRawPointer)] {
        var bound = tensors.map { ($0.0, UnsafeMutableRawPointer($0.1.pointer)) }
        if let workspace { bound.append((DNNLArgument.workspace, UnsafeMutableRawPointer(workspace.pointer))) }
        return bound
    }
}
