/// A 4-D tensor seen as [images][channel blocks][pixels][lanes]: plain NCHW is the case of one
/// lane per block, nChw{B}c that of B lanes. Per-channel kernels written against this view
/// serve both layouts. Lanes past the last channel are padding.
struct LaneView {
    let images: Int, channels: Int, blocks: Int, lanes: Int, pixels: Int

    init(_ tensor: Tensor) {
        precondition(tensor.rank == 4 || tensor.rank == 2, "expected an N x C x H x W or N x C tensor, got \(tensor.shape)")
        images = tensor.shape[0]
        channels = tensor.shape[1]
        pixels = tensor.rank == 4 ? tensor.shape[2] * tensor.shape[3] : 1
        switch tensor.layout {
        case .plain:
            lanes = 1
        case .channelBlocked(let block):
            lanes = block
        }
        blocks = Layout.paddedChannels(channels, block: lanes) / lanes
    }

    /// Offset of pixel 0 of block `block` of image `image`.
    @inline(__always) func base(image: Int, block: Int) -> Int { (image * blocks + block) * pixels * lanes }

    /// Real (non-padding) lanes of block `block`.
    @inline(__always) func activeLanes(block: Int) -> Int { min(lanes, channels - block * lanes) }

    /// Elements per channel.
    var perChannel: Int { images * pixels }
}
