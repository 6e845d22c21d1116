/// The memory behind one or more tensors: a pooled buffer, or a window into another storage
/// (parameters live as windows into one contiguous block, so that an optimizer step and a
/// gradient all-reduce each touch one buffer).
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    private let parent: Storage?

    /// A fresh buffer of `count` floats from the pool, uninitialised.
    init(count: Int) {
        self.pointer = BufferPool.shared.allocate(floats: count)
        self.count = count
        self.parent = nil
    }

    /// A window of `count` floats at `offset` into `parent`; keeps the parent alive.
    init(window parent: Storage, offset: Int, count: Int) {
        precondition(offset >= 0 && offset + count <= parent.count, "storage window out of range")
        self.pointer = parent.pointer + offset
        self.count = count
        self.parent = parent
    }

    deinit {
        if parent == nil { BufferPool.shared.release(pointer, floats: count) }
    }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}
