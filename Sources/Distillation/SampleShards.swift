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

    var rows: Int { indices.count }
    var bytes: Int { 4 * (images.count + logits.count) + 8 * (3 * rows + (labels?.count ?? 0)) }
}

/// Writes a rank's generated batches to sample shards, HDF5 files under `DIR/samples/`
/// (docs/FILE-FORMATS.md), from a background thread that never calls MPI. Batches are
/// gathered in memory and written as one whole file, atomically, when they reach
/// `shardBytes` and at every checkpoint (`commit`): a reader never sees half a record, and
/// the shards a checkpoint covers are on disk before the checkpoint is.
public final class SampleShardWriter: @unchecked Sendable {  // state is touched on `queue` only
    public static let format = "dfkd-samples"
    public let directory: String
    private let rank: Int
    private let imageShape: [Int], classes: Int
    private let attributes: [String: CheckpointFile.Attribute]
    private let shardBytes: Int
    private let queue = DispatchQueue(label: "dfkd.sample-shards")
    /// Batches handed over but not yet taken by the thread: the training loop waits for
    /// room only when the thread falls this far behind.
    private let room = DispatchSemaphore(value: 4)
    private var pending: [GeneratedBatch] = []
    private var failure: Error?

    public init(directory: String, rank: Int, imageShape: [Int], classes: Int, attributes: [String: CheckpointFile.Attribute],
                shardBytes: Int = 256 << 20) {
        self.directory = directory
        self.rank = rank
        self.imageShape = imageShape
        self.classes = classes
        self.attributes = attributes
        self.shardBytes = shardBytes
    }

    /// Hands `batch` to the writer; returns at once unless the writer is behind. A failed
    /// write of an earlier shard is thrown here.
    public func append(_ batch: GeneratedBatch) throws {
        try queue.sync { if let failure { throw failure } }
        room.wait()
        queue.async { [self] in
            defer { room.signal() }
            guard failure == nil else { return }
            pending.append(batch)
            if pending.reduce(0, { $0 + $1.bytes }) >= shardBytes { writePending() }
        }
    }

    /// Writes every batch handed over so far and returns once it is on disk (before a
    /// checkpoint that covers them is written).
    public func commit() throws {
        try queue.sync {
            writePending()
            if let failure { throw failure }
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

    private func writePending() {
        guard failure == nil, let first = pending.first, let last = pending.last else { return }
        do {
            try write(pending, to: directory + "/" + Self.name(first: first.globalIteration, last: last.globalIteration, rank: rank))
            pending = []
        } catch {
            failure = error
        }
    }

    private func write(_ batches: [GeneratedBatch], to path: String) throws {
        let rows = batches.reduce(0) { $0 + $1.rows }
        let chunkRows = max(1, (1 << 20) / max(1, 4 * imageShape.reduce(1, *)))
        try AtomicFile.write(path) { [self] temporary in
            let file = try HDF5Group.create(temporary)
            try file.setAttribute("format", Self.format)
            try file.setAttribute("format_version", Int64(1))
            try file.setAttribute("rank", Int64(rank))
            try file.setAttribute("image_shape", imageShape.map(Int64.init))
            try file.setAttribute("image_layout", "NCHW, normalised as the teacher sees them")
            try file.setAttribute("classes", Int64(classes))
            try file.setAttribute("first_iteration", Int64(batches[0].globalIteration))
            try file.setAttribute("last_iteration", Int64(batches[batches.count - 1].globalIteration))
            for (name, value) in attributes.sorted(by: { $0.key < $1.key }) {
                switch value {
                case .text(let text): try file.setAttribute(name, text)
                case .integer(let integer): try file.setAttribute(name, integer)
                case .number(let number): try file.setAttribute(name, number)
                }
            }
            try file.writeAppendable("images", batches.flatMap(\.images), shape: [rows] + imageShape, chunkRows: chunkRows)
            try file.writeAppendable("logits", batches.flatMap(\.logits), shape: [rows, classes], chunkRows: 4096)
            try file.writeAppendable("index", batches.flatMap(\.indices), shape: [rows], chunkRows: 65536)
            try file.writeAppendable("epoch", batches.flatMap { Array(repeating: Int64($0.epoch), count: $0.rows) }, shape: [rows], chunkRows: 65536)
            try file.writeAppendable("iteration", batches.flatMap { Array(repeating: Int64($0.iteration), count: $0.rows) }, shape: [rows],
                                     chunkRows: 65536)
            if batches.allSatisfy({ $0.labels != nil }) {
                try file.writeAppendable("labels", batches.flatMap { $0.labels! }, shape: [rows], chunkRows: 65536)
            }
            try file.close()
        }
    }
}
