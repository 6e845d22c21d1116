/// Labelled images as 8-bit pixels, N x C x H x W, with the class count. Pixels stay bytes
/// until a batch is made (CIFAR's 50,000 images are 150 MB as bytes, 600 MB as floats).
public struct ImageSet: Sendable {
    public let pixels: [UInt8]
    public let labels: [Int]
    public let channels: Int, height: Int, width: Int
    public let classes: Int
    /// Where the images came from, for messages and provenance.
    public let source: String

    public init(pixels: [UInt8], labels: [Int], channels: Int, height: Int, width: Int, classes: Int, source: String) {
        precondition(pixels.count == labels.count * channels * height * width, "pixel count does not match \(labels.count) images")
        self.pixels = pixels
        self.labels = labels
        self.channels = channels
        self.height = height
        self.width = width
        self.classes = classes
        self.source = source
    }

    public var count: Int { labels.count }
    public var imageSize: Int { channels * height * width }
    public var imageShape: [Int] { [channels, height, width] }

    /// Images `range` (in file order).
    public func subset(_ range: Range<Int>) -> ImageSet {
        ImageSet(pixels: Array(pixels[range.lowerBound * imageSize..<range.upperBound * imageSize]), labels: Array(labels[range]),
                 channels: channels, height: height, width: width, classes: classes, source: "\(source)[\(range.lowerBound)..<\(range.upperBound)]")
    }

    /// Each image centred in a zero border, to `size` x `size` (MNIST's 28 -> LeNet's 32).
    public func padded(to size: Int) -> ImageSet {
        guard size > height || size > width else { return self }
        let top = (size - height) / 2, left = (size - width) / 2
        var out = [UInt8](repeating: 0, count: count * channels * size * size)
        for image in 0..<count {
            for c in 0..<channels {
                for y in 0..<height {
                    let from = ((image * channels + c) * height + y) * width
                    let to = ((image * channels + c) * size + y + top) * size + left
                    for x in 0..<width { out[to + x] = pixels[from + x] }
                }
            }
        }
        return ImageSet(pixels: out, labels: labels, channels: channels, height: size, width: size, classes: classes, source: source)
    }

    /// Images per class.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for label in labels { counts[label] += 1 }
        return counts
    }
}
