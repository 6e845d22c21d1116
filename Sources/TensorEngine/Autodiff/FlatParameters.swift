import CBLAS

/// A set of parameters whose values live in one contiguous buffer and whose gradients live in
/// another, each parameter a named window into both, in a fixed order. An optimizer step is
/// one loop and a gradient all-reduce one call over these buffers.
public final class FlatParameters {
    public struct Entry {
        public let name: String
        public let tensor: Tensor
        public let offset: Int
        public var count: Int { tensor.count }
    }

    public let entries: [Entry]
    public let count: Int
    let values: Storage
    let gradients: Storage

    /// Moves `named` parameters into one block (their current values are kept) and gives each
    /// a gradient window that backward adds into.
    public init(_ named: [(String, Tensor)]) {
        var offset = 0
        var entries: [Entry] = []
        for (name, tensor) in named {
            precondition(tensor.layout == .plain, "parameter \(name) is not in plain layout")
            precondition(tensor.origin == nil, "parameter \(name) is the result of an op, not a leaf")
            entries.append(Entry(name: name, tensor: tensor, offset: offset))
            offset += tensor.count
        }
        count = offset
        values = Storage(count: max(count, 1))
        gradients = Storage(count: max(count, 1))
        gradients.buffer.update(repeating: 0)
        for entry in entries {
            (values.pointer + entry.offset).update(from: entry.tensor.pointer, count: entry.count)
            entry.tensor.storage = Storage(window: values, offset: entry.offset, count: entry.count)
            let sink = Tensor(shape: entry.tensor.shape, storage: Storage(window: gradients, offset: entry.offset, count: entry.count))
            entry.tensor.gradientSink = sink
            entry.tensor.grad = sink
        }
        self.entries = entries
    }

    /// All parameter values, in entry order.
    public var valueBuffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: values.pointer, count: count) }
    /// All gradients, in entry order.
    public var gradientBuffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: gradients.pointer, count: count) }

    /// The sum of the gradients' magnitudes: not finite exactly when a gradient is NaN or
    /// infinite (or so large that the sum overflows). One BLAS pass, cheap next to a step.
    public var gradientMagnitude: Float { count == 0 ? 0 : cblas_sasum(Int32(count), gradients.pointer, 1) }

    public func zeroGradients() {
        for entry in entries { entry.tensor.zeroGradient() }
    }
}
