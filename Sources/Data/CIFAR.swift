/// CIFAR-10 and CIFAR-100 binary batches: records of label byte(s) then 3 x 32 x 32 pixels
/// (CIFAR-100 has a coarse label byte before the fine label).
public enum CIFAR {
    public static func read(_ paths: [String], classes: Int) throws -> ImageSet {
        let labelBytes = classes == 100 ? 2 : 1
        let imageSize = 3 * 32 * 32
        let recordSize = labelBytes + imageSize
        var pixels: [UInt8] = [], labels: [Int] = []
        for path in paths {
            // CIFAR-100's training batch, the largest, is 155 MB.
            let bytes = try FileBytes.read(path, limit: 1 << 30)
            guard !bytes.isEmpty, bytes.count % recordSize == 0 else {
                throw DataError(file: path, "\(bytes.count) bytes is not a whole number of \(recordSize)-byte CIFAR-\(classes) records"
                                + " (truncated, or a file of the other CIFAR)")
            }
            pixels.reserveCapacity(pixels.count + bytes.count / recordSize * imageSize)
            for record in 0..<bytes.count / recordSize {
                let start = record * recordSize
                let label = Int(bytes[start + labelBytes - 1])
                guard label < classes else {
                    throw DataError(file: path, "label \(label) of record \(record) is out of range, expected 0..<\(classes)")
                }
                labels.append(label)
                pixels.append(contentsOf: bytes[(start + labelBytes)..<(start + recordSize)])
            }
        }
        return ImageSet(pixels: pixels, labels: labels, channels: 3, height: 32, width: 32, classes: classes,
                        source: paths.joined(separator: ", "))
    }
}
