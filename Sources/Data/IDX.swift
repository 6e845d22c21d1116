/// MNIST's IDX files (also Fashion-MNIST's): big-endian magic 2051 with count, rows and
/// columns then one byte per pixel; magic 2049 with count then one byte per label.
/// Gzipped or raw.
public enum IDX {
    static let imagesMagic = 2051, labelsMagic = 2049
    /// MNIST's training images are 47 MB; a header declaring more than this is damaged.
    static let maximumBytes = 1 << 32

    public static func read(images imagesPath: String, labels labelsPath: String, classes: Int) throws -> ImageSet {
        var count = 0, rows = 0, columns = 0
        let imageBytes = try FileBytes.read(imagesPath, headerBytes: 16) { header in
            let magic = try header.uint32(at: 0, field: "magic number")
            guard magic == imagesMagic else {
                throw DataError(file: imagesPath, "magic number \(magic), expected \(imagesMagic) for an IDX image file")
            }
            count = try header.uint32(at: 4, field: "image count")
            rows = try header.uint32(at: 8, field: "row count")
            columns = try header.uint32(at: 12, field: "column count")
            guard (1...4096).contains(rows), (1...4096).contains(columns), count <= maximumBytes / (rows * columns) else {
                throw DataError(file: imagesPath, "header declares \(count) images of \(rows)x\(columns), expected sides of 1 to 4096 "
                                + "and at most \(maximumBytes) bytes of pixels")
            }
            return 16 + count * rows * columns
        }
        let expectedBytes = 16 + count * rows * columns
        guard imageBytes.count == expectedBytes else {
            throw DataError(file: imagesPath, "\(imageBytes.count) bytes, expected \(expectedBytes) for \(count) images of \(rows)x\(columns) (truncated)")
        }

        let labelBytes = try FileBytes.read(labelsPath, headerBytes: 8) { header in
            let labelMagic = try header.uint32(at: 0, field: "magic number")
            guard labelMagic == labelsMagic else {
                throw DataError(file: labelsPath, "magic number \(labelMagic), expected \(labelsMagic) for an IDX label file")
            }
            let labelCount = try header.uint32(at: 4, field: "label count")
            guard labelCount == count else {
                throw DataError(file: labelsPath, "\(labelCount) labels, expected \(count) to match \(imagesPath)")
            }
            return 8 + count
        }
        guard labelBytes.count == 8 + count else {
            throw DataError(file: labelsPath, "\(labelBytes.count) bytes, expected \(8 + count) for \(count) labels (truncated)")
        }
        let labels = labelBytes[8...].map(Int.init)
        if let bad = labels.firstIndex(where: { $0 >= classes }) {
            throw DataError(file: labelsPath, "label \(labels[bad]) of item \(bad) is out of range, expected 0..<\(classes)")
        }
        return ImageSet(pixels: Array(imageBytes[16...]), labels: labels, channels: 1, height: rows, width: columns,
                        classes: classes, source: imagesPath)
    }
}
