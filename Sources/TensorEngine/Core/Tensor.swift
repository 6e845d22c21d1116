/// An fp32 tensor: a logical shape (NCHW for images, N x F for features), a physical layout,
/// and storage. Tensors made by differentiable ops remember the op (`origin`) so that
/// `backward()` can run the chain rule; leaves with `requiresGrad` collect gradients in
/// `grad`.
public final class Tensor {
    public let shape: [Int]
    public let layout: Layout
    var storage: Storage

    /// For a leaf: whether backward should produce its gradient. For a result of an op:
    /// whether the op was recorded for backward.
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf (always plain layout).
    public var grad: Tensor?
    /// For a parameter: a fixed, zeroed-per-step gradient buffer that backward adds into.
    var gradientSink: Tensor?
    /// Set when backward has added anything into `gradientSink` since it was last zeroed.
    public internal(set) var receivedGradient = false

    /// The recorded op that produced this tensor, and which of its outputs this is.
    var origin: (node: Node, output: Int)?

    init(shape: [Int], layout: Layout = .plain, storage: Storage, requiresGrad: Bool = false) {
        precondition(storage.count >= layout.storageCount(for: shape),
                     "storage of \(storage.count) floats is too small for \(shape) in \(layout)")
        self.shape = shape
        self.layout = layout
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// An uninitialised tensor (engine-internal: kernels fill every element).
    convenience init(uninitializedShape shape: [Int], layout: Layout = .plain) {
        self.init(shape: shape, layout: layout, storage: Storage(count: layout.storageCount(for: shape)))
    }

    /// A plain tensor holding `values` in row-major (NCHW) order.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *),
                     "\(values.count) values do not fill shape \(shape)")
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
        self.requiresGrad = requiresGrad
    }

    /// A scalar tensor.
    public convenience init(_ value: Float) {
        self.init(shape: [], values: [value])
    }

    public static func zeros(_ shape: [Int], layout: Layout = .plain) -> Tensor {
        full(shape, 0, layout: layout)
    }

    public static func full(_ shape: [Int], _ value: Float, layout: Layout = .plain) -> Tensor {
        let tensor = Tensor(uninitializedShape: shape, layout: layout)
        tensor.storage.buffer.update(repeating: value)
        if value != 0 { tensor.zeroChannelPadding() }
        return tensor
    }

    // MARK: Shape

    public var rank: Int { shape.count }
    /// The number of logical elements.
    public var count: Int { shape.reduce(1, *) }
    public var isScalar: Bool { count == 1 }

    /// The storage pointer (first element). Layout decides what sits where.
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// Floats of storage the layout uses (equals `count` for plain tensors).
    var storageCount: Int { layout.storageCount(for: shape) }

    // MARK: Reading values

    /// The elements in logical row-major order, whatever the layout.
    public func toArray() -> [Float] {
        let plainTensor = layout == .plain ? self : LayoutConversion.toPlain(self)
        return Array(UnsafeBufferPointer(start: plainTensor.pointer, count: count))
    }

    /// The value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return pointer.pointee
    }

    // MARK: Graph

    /// A tensor that shares this one's memory but is cut off from the graph.
    public func detached() -> Tensor {
        Tensor(shape: shape, layout: layout, storage: storage)
    }

    /// Whether gradients flow into or through this tensor.
    var participatesInGradient: Bool { requiresGrad || origin != nil }

    /// Keeps the padding lanes of a channel-blocked tensor at zero; ops whose f(0) != 0
    /// call it after writing.
    func zeroChannelPadding() {
        guard case .channelBlocked(let block) = layout else { return }
        let channels = shape[1]
        let tail = channels % block
        guard tail != 0 else { return }
        let blocks = Layout.paddedChannels(channels, block: block) / block
        let spatial = shape[2] * shape[3]
        for n in 0..<shape[0] {
            var p = pointer + ((n * blocks + blocks - 1) * spatial) * block
            for _ in 0..<spatial {
                for lane in tail..<block { p[lane] = 0 }
                p += block
            }
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = count <= 16 ? "\(toArray())" : "[\(count) values]"
        return "Tensor(\(shape), \(layout)\(origin.map { ", from \($0.node.name)" } ?? ""): \(values))"
    }
}
