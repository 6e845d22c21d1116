/// How a tensor's elements sit in memory. The logical shape is always NCHW (or N x F); the
/// physical order is either plain row-major, or oneDNN's channel-blocked nChw{B}c, in which
/// B consecutive channels of one pixel are contiguous (what the convolution kernels read at
/// full speed). Channels are padded up to a multiple of B and the padding is kept at zero.
public enum Layout: Hashable, Sendable, CustomStringConvertible {
    case plain
    case channelBlocked(Int)

    public var description: String {
        switch self {
        case .plain: "plain"
        case .channelBlocked(let block): "nChw\(block)c"
        }
    }

    /// Floats of storage that a tensor of `shape` needs in this layout.
    public func storageCount(for shape: [Int]) -> Int {
        switch self {
        case .plain:
            return shape.reduce(1, *)
        case .channelBlocked(let block):
            precondition(shape.count == 4, "channel-blocked layout needs a 4-D shape, got \(shape)")
            return shape[0] * Self.paddedChannels(shape[1], block: block) * shape[2] * shape[3]
        }
    }

    static func paddedChannels(_ channels: Int, block: Int) -> Int {
        (channels + block - 1) / block * block
    }
}

/// Row-major strides of a shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[axis] = running
        running *= shape[axis]
    }
    return strides
}
