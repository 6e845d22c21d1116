import Foundation
import Storage
import TensorEngine

/// A sample shard set in memory, served as batches for `distill --from-samples`: the images
/// and their stored teacher logits, and the labels the student's cross entropy uses (the
/// conditional labels, or the teacher's classes). Batch `p` holds samples `p x B ..< (p+1) x B`
/// of an endless sequence of passes, each a seeded shuffle of the whole set, so a batch
/// depends only on the seed and its position: any number of ranks, and a resume, see the
/// same batches.
public final class StoredSamples {
    public let count: Int
    public let imageShape: [Int]
    public let classes: Int
    private let images: [Float], logits: [Float], labels: [Int]
    private let seed: UInt64
    private var pass: (number: Int, order: [Int])?

    /// Reads every shard of `set` whole. Samples are ordered by run and sample index, so a
    /// set written by any number of ranks loads alike.
    public init(_ set: SampleShardSet, seed: UInt64, memoryLimit: UInt64 = ProcessInfo.processInfo.physicalMemory / 2) throws {
        let pixels = set.imageShape.reduce(1, *)
        let bytes = UInt64(set.rows) * UInt64(pixels + set.classes) * 4
        guard bytes <= memoryLimit else {
            throw StorageError(file: set.shards[0].path, "its set of \(set.shards.count) shards holds \(set.rows) samples, "
                               + String(format: "%.1f GiB in memory on every rank; at most %.1f GiB are allowed here (half the memory): give fewer shards",
                                        Double(bytes) / 1_073_741_824, Double(memoryLimit) / 1_073_741_824))
        }
        var parts: [(run: String, index: [Int64], images: [Float], logits: [Float], labels: [Int])] = []
        for shard in set.shards {
            let file = try HDF5Group.open(shard.path)
            let images = try file.read("images", as: Float.self).values
            let logits = try file.read("logits", as: Float.self).values
            let labels = shard.hasLabels ? try file.read("labels", as: Int64.self).values : nil
            if let bad = images.firstIndex(where: { !$0.isFinite }) {
                throw StorageError(file: shard.path, "dataset /images holds a non-finite value at element \(bad)")
            }
            if let bad = logits.firstIndex(where: { !$0.isFinite }) {
                throw StorageError(file: shard.path, "dataset /logits holds a non-finite value at element \(bad)")
            }
            if let labels, let wrong = labels.first(where: { !(0..<Int64(shard.classes)).contains($0) }) {
                throw StorageError(file: shard.path, "dataset /labels holds \(wrong), expected classes 0 to \(shard.classes - 1)")
            }
            parts.append((shard.runStarted + " \(shard.seed)", try file.read("index", as: Int64.self).values, images, logits,
                          labels?.map(Int.init) ?? SampleShardSet.predictedClasses(logits, classes: shard.classes)))
        }
        var rows: [(part: Int, row: Int)] = []
        for (part, contents) in parts.enumerated() { rows += contents.index.indices.map { (part, $0) } }
        rows.sort { a, b in
            let (x, y) = (parts[a.part], parts[b.part])
            return x.run != y.run ? x.run < y.run : x.index[a.row] < y.index[b.row]
        }
        var images = [Float](), logits = [Float](), labels = [Int]()
        images.reserveCapacity(rows.count * pixels)
        logits.reserveCapacity(rows.count * set.classes)
        for (part, row) in rows {
            let contents = parts[part]
            images += contents.images[(row * pixels)..<((row + 1) * pixels)]
            logits += contents.logits[(row * set.classes)..<((row + 1) * set.classes)]
            labels.append(contents.labels[row])
        }
        (self.images, self.logits, self.labels) = (images, logits, labels)
        (count, imageShape, classes, self.seed) = (rows.count, set.imageShape, set.classes, seed)
    }

    /// Rows `rows` of global batch `position` of `batchSize` samples.
    public func batch(_ position: Int, batchSize: Int, rows: Range<Int>) -> (images: Tensor, logits: Tensor, labels: [Int]) {
        let pixels = imageShape.reduce(1, *)
        var batchImages = [Float](), batchLogits = [Float](), batchLabels = [Int]()
        batchImages.reserveCapacity(rows.count * pixels)
        for row in rows {
            let sample = sample(at: position * batchSize + row)
            batchImages += images[(sample * pixels)..<((sample + 1) * pixels)]
            batchLogits += logits[(sample * classes)..<((sample + 1) * classes)]
            batchLabels.append(labels[sample])
        }
        return (Tensor(shape: [rows.count] + imageShape, values: batchImages), Tensor(shape: [rows.count, classes], values: batchLogits),
                batchLabels)
    }

    /// The sample at `position` of the endless sequence of shuffled passes.
    private func sample(at position: Int) -> Int {
        let number = position / count
        if pass?.number != number {
            pass = (number, Philox(seed: seed ^ 0x5a3b_1e5, stream: UInt64(number)).permutation(of: count))
        }
        return pass!.order[position % count]
    }
}
