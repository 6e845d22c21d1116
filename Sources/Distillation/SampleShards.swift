import Foundation
import Storage

/// One generator batch kept for the sample shards: this rank's rows of it.
public struct GeneratedBatch: Sendable {
    /// The run's iteration count before this one (epoch x iterations per epoch + iteration).
    public let globalIteration: Int
    public let epoch: Int, iteration: Int
    /// Each row's index in the run's sequence of drawn samples (draw x batch + row).
    public let indices: [Int64]
    /// rows x C x H x W, as the teacher sees them (normalised), in float32.
    public let images: [Float]
    /// The conditional labels, for a generator that has them.
    public let labels: [Int64]?
    /// rows x classes.
    public let logits: [Float]

    public init(globalIteration: Int, epoch: Int, iteration: Int, indices: [Int64], images: [Float], labels: [Int64]?, logits: [Float]) {
        (self.globalIteration, self.epoch, self.iteration) = (globalIteration, epoch, iteration)
        (self.indices, self.images, self.labels, self.logits) = (indices, images, labels, logits)
    }

    var rows: Int { indices.count }

    /// Its first `rows` rows and the rest.
    func split(at rows: Int) -> (GeneratedBatch, GeneratedBatch) {
        let (pixels, classes) = (images.count / self.rows, logits.count / self.rows)
        func part(_ range: Range<Int>) -> GeneratedBatch {
            GeneratedBatch(globalIteration: globalIteration, epoch: epoch, iteration: iteration, indices: Array(indices[range]),
                           images: Array(images[(range.lowerBound * pixels)..<(range.upperBound * pixels)]),
                           labels: labels.map { Array($0[range]) },
                           logits: Array(logits[(range.lowerBound * classes)..<(range.upperBound * classes)]))
        }
        return (part(0..<rows), part(rows..<self.rows))
    }
}

/// Writes a rank's generated batches to sample shards, HDF5 files under `DIR/samples/`
/// (docs/FILE-FORMATS.md), from a background thread that never calls MPI. Each batch is
/// appended to the open shard, a hidden temporary file, as soon as whole chunks of rows have
/// gathered (so every chunk is compressed and written once); at every checkpoint (`commit`)
/// and when the shard reaches `shardBytes`, the shard is closed, sealed and renamed to its
/// name: a reader never sees half a record, and the shards a checkpoint covers are on disk
/// before the checkpoint is.
public final class SampleShardWriter: @unchecked Sendable {  // state is touched on `queue` only, `failure` under its lock
    public static let format = "dfkd-samples"
    public let directory: String
    private let rank: Int
    private let imageShape: [Int], classes: Int
    private let attributes: [String: CheckpointFile.Attribute]
    private let shardBytes: Int
    /// Rows per chunk of every dataset: about 1 MiB of images.
    private let chunkRows: Int
    private let queue = DispatchQueue(label: "dfkd.sample-shards")
    /// Batches handed over but not yet taken by the thread: the training loop waits for
    /// room only when the thread falls this far behind.
    private let room = DispatchSemaphore(value: 4)
    /// The shard being written: its temporary file, the iterations and rows in it, and the
    /// rows not yet appended (less than a chunk's).
    private var open: (file: HDF5Group, temporary: String, first: Int, last: Int, rows: Int)?
    private var waiting: [GeneratedBatch] = []
    /// The first failed write; read by `append` under its lock, so that handing a batch over
    /// never waits for the thread's work in progress.
    private var failure: Error? {
        get { failureLock.withLock { storedFailure } }
        set { failureLock.withLock { storedFailure = newValue } }
    }
    private var storedFailure: Error?
    private let failureLock = NSLock()

    public init(directory: String, rank: Int, imageShape: [Int], classes: Int, attributes: [String: CheckpointFile.Attribute],
                shardBytes: Int = 256 << 20) {
        self.directory = directory
        self.rank = rank
        self.imageShape = imageShape
        self.classes = classes
        self.attributes = attributes
        self.shardBytes = shardBytes
        chunkRows = max(1, (1 << 20) / max(1, 4 * imageShape.reduce(1, *)))
    }

    /// Hands `batch` to the writer; returns at once unless the writer is behind. A failed
    /// write of an earlier batch is thrown here.
    public func append(_ batch: GeneratedBatch) throws {
        if let failure { throw failure }
        room.wait()
        queue.async { [self] in
            defer { room.signal() }
            guard failure == nil else { return }
            do { try add(batch) } catch { fail(error) }
        }
    }

    /// Writes every batch handed over so far, closes the shard and returns once it is on
    /// disk under its name (before a checkpoint that covers it is written).
    public func commit() throws {
        try queue.sync {
            if failure == nil {
                do { try finishShard() } catch { fail(error) }
            }
            if let failure { throw failure }
        }
    }

    /// Removes the open shard's temporary file, for a run that ends on an error: its rows
    /// are beyond the last checkpoint.
    public func abandon() {
        queue.sync {
            if let shard = open { unlink(shard.temporary) }
            (open, waiting) = (nil, [])
        }
    }

    /// The shard file of a rank's batches from global iteration `first` to `last`.
    public static func name(first: Int, last: Int, rank: Int) -> String {
        String(format: "samples-g%09d-g%09d-r%04d.h5", first, last, rank)
    }

    /// The global iterations a shard's name says it covers, nil for other files.
    static func range(ofName name: String) -> ClosedRange<Int>? {
        let parts = name.split(separator: "-")
        guard parts.count == 4, parts[0] == "samples", name.hasSuffix(".h5"),
              let first = Int(parts[1].dropFirst()), let last = Int(parts[2].dropFirst()), first <= last else { return nil }
        return first...last
    }

    /// Removes the shards of iterations from `done` on (those a resumed run makes again);
    /// returns their names. Shards end at checkpoints, so none straddles `done`.
    @discardableResult
    public static func removeShards(in directory: String, from done: Int) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            guard let range = range(ofName: name), range.upperBound >= done else { return false }
            return unlink(directory + "/" + name) == 0
        }.sorted()
    }

    private func add(_ batch: GeneratedBatch) throws {
        if open == nil {
            // Named for its first iteration until it is closed; the name marks it as ours
            // for the removal of a killed run's temporaries.
            let temporary = AtomicFile.temporaryPath(for: directory + "/" + String(format: "samples-g%09d-open-r%04d.h5", batch.globalIteration, rank))
            let file = try HDF5Group.create(temporary)
            try writeAttributes(of: file, first: batch.globalIteration)
            open = (file, temporary, batch.globalIteration, batch.globalIteration, 0)
        }
        open!.last = batch.globalIteration
        open!.rows += batch.rows
        waiting.append(batch)
        let ready = waiting.reduce(0) { $0 + $1.rows } / chunkRows * chunkRows
        if ready > 0 { try appendWaiting(rows: ready) }
        if open!.rows * 4 * (imageShape.reduce(1, *) + classes) >= shardBytes { try finishShard() }
    }

    /// Appends the first `rows` waiting rows to every dataset of the open shard.
    private func appendWaiting(rows: Int) throws {
        let file = open!.file
        var taken: [GeneratedBatch] = [], count = 0
        while count < rows {
            let batch = waiting.removeFirst()
            let needed = rows - count
            if batch.rows <= needed {
                taken.append(batch)
                count += batch.rows
            } else {
                let (head, tail) = batch.split(at: needed)
                taken.append(head)
                waiting.insert(tail, at: 0)
                count = rows
            }
        }
        try put("images", taken.flatMap(\.images), in: file, rowShape: imageShape)
        try put("logits", taken.flatMap(\.logits), in: file, rowShape: [classes])
        try put("index", taken.flatMap(\.indices), in: file, rowShape: [])
        try put("epoch", taken.flatMap { Array(repeating: Int64($0.epoch), count: $0.rows) }, in: file, rowShape: [])
        try put("iteration", taken.flatMap { Array(repeating: Int64($0.iteration), count: $0.rows) }, in: file, rowShape: [])
        if taken.allSatisfy({ $0.labels != nil }) { try put("labels", taken.flatMap { $0.labels! }, in: file, rowShape: []) }
    }

    private func put<T: HDF5Element>(_ name: String, _ values: [T], in file: HDF5Group, rowShape: [Int]) throws {
        if file.contains(name) {
            try file.appendRows(name, values)
        } else {
            try file.writeAppendable(name, values, shape: [values.count / max(1, rowShape.reduce(1, *))] + rowShape, chunkRows: chunkRows)
        }
    }

    /// Writes the last rows, closes and seals the open shard and gives it its name.
    private func finishShard() throws {
        guard let shard = open else { return }
        let rows = waiting.reduce(0) { $0 + $1.rows }
        if rows > 0 { try appendWaiting(rows: rows) }
        try shard.file.setAttribute("last_iteration", Int64(shard.last))
        try shard.file.close()
        open = nil
        try AtomicFile.publish(shard.temporary, as: directory + "/" + Self.name(first: shard.first, last: shard.last, rank: rank))
    }

    /// Keeps the first failure; the open shard's temporary file goes.
    private func fail(_ error: Error) {
        failure = open.map { AtomicFile.explainingFullDisk(error, writing: $0.temporary) } ?? error
        if let shard = open { unlink(shard.temporary) }
        open = nil
        waiting = []
    }

    private func writeAttributes(of file: HDF5Group, first: Int) throws {
        try file.setAttribute("format", Self.format)
        try file.setAttribute("format_version", Int64(1))
        try file.setAttribute("rank", Int64(rank))
        try file.setAttribute("image_shape", imageShape.map(Int64.init))
        try file.setAttribute("image_layout", "NCHW, normalised as the teacher sees them")
        try file.setAttribute("classes", Int64(classes))
        try file.setAttribute("first_iteration", Int64(first))
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) { try file.setAttribute(name, value) }
    }
}
