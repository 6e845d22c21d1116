/// MNIST's IDX files (also Fashion-MNIST's): big-endian magic 2051 with count, rows and
/// columns then one byte per pixel; magic 2049 with count then one byte per label.
/// Gzipped or raw.
public enum IDX {
    static let imagesMagic = 2051, labelsMagic = 2049

    public static func read(images imagesPath: String, labels labelsPath: String, classes: Int) throws -> ImageSet {
        let imageBytes = try FileBytes.read(imagesPath)
        let images = ByteReader(bytes: imageBytes, file: imagesPath)
        let magic = try images.uint32(at: 0, field: "magic number")
        guard magic == imagesMagic else {
            throw DataError(file: imagesPath, "magic number \(magic), expected \(imagesMagic) for an IDX image file")
        }
        let count = try images.uint32(at: 4, field: "image count")
        let rows = try images.uint32(at: 8, field: "row count"), columns = try images.uint32(at: 12, field: "column count")
        let expectedBytes = 16 + count * rows * columns
        guard imageBytes.count == expectedBytes else {
            throw DataError(file: imagesPath, "\(imageBytes.count) bytes, expected \(expectedBytes) for \(count) images of \(rows)x\(columns)"
                            + (imageBytes.count < expectedBytes ? " (truncated)" : ""))
        }

        let labelBytes = try FileBytes.read(labelsPath)
        let labelReader = ByteReader(bytes: labelBytes, file: labelsPath)
        let labelMagic = try labelReader.uint32(at: 0, field: "magic number")
        guard labelMagic == labelsMagic else {
            throw DataError(file: labelsPath, "magic number \(labelMagic), expected \(labelsMagic) for an IDX label file")
        }
        let labelCount = try labelReader.uint32(at: 4, field: "label count")
        guard labelCount == count else {
            throw DataError(file: labelsPath, "\(labelCount) labels, expected \(count) to match \(imagesPath)")
        }
        guard labelBytes.count == 8 + count else {
            throw DataError(file: labelsPath, "\(labelBytes.count) bytes, expected \(8 + count) for \(count) labels"
                            + (labelBytes.count < 8 + count ? " (truncated)" : ""))
        }
        let labels = labelBytes[8...].map(Int.init)
        if let bad = labels.firstIndex(where: { $0 >= classes }) {
            throw DataError(file: labelsPath, "label \(labels[bad]) of item \(bad) is out of range, expected 0..<\(classes)")
        }
        return ImageSet(pixels: Array(imageBytes[16...]), labels: labels, channels: 1, height: rows, width: columns,
                        classes: classes, source: imagesPath)
    }
}
