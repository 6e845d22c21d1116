import Foundation
import Storage

/// What one sample shard's header says (docs/FILE-FORMATS.md), checked against its datasets.
public struct SampleShard: Sendable {
    public let path: String
    public let rows: Int
    public let imageShape: [Int]
    public let classes: Int
    public let hasLabels: Bool
    public let teacher: String
    public let teacherCRC: UInt32
    public let method: String
    public let seed: Int64
    public let rank: Int, worldSize: Int
    public let firstIteration: Int, lastIteration: Int
    /// When the run that wrote it started: the shards of one run share it.
    public let runStarted: String
    public let normalizationMean: [Float], normalizationStd: [Float]

    /// Reads and checks the header of the shard at `path`: its format, its attributes and
    /// every dataset's type and shape.
    public init(path: String) throws {
        self.path = path
        let file = try HDF5Group.open(path)
        try file.requireFormat(SampleShardWriter.format, describedAs: "a DataFreeKD sample shard", newestVersion: 1)
        func integer(_ name: String) throws -> Int64 {
            guard let value = try file.numericAttribute(name, as: Int64.self).first else {
                throw StorageError(file: path, "root attribute '\(name)' is empty, expected an integer")
            }
            return value
        }
        func numbers(_ name: String) throws -> [Float] {
            let text = try file.stringAttribute(name)
            let values = text.split(separator: " ").compactMap { Float($0) }
            guard !values.isEmpty, values.count == text.split(separator: " ").count else {
                throw StorageError(file: path, "root attribute '\(name)' is '\(text)', expected space-separated numbers")
            }
            return values
        }
        imageShape = try file.numericAttribute("image_shape", as: Int64.self).map(Int.init)
        guard imageShape.count == 3, imageShape.allSatisfy({ (1...65536).contains($0) }) else {
            throw StorageError(file: path, "root attribute 'image_shape' is \(imageShape), expected [C, H, W] of positive sizes")
        }
        classes = Int(try integer("classes"))
        guard (1...100_000).contains(classes) else { throw StorageError(file: path, "root attribute 'classes' is \(classes), expected 1 to 100000") }
        teacher = try file.stringAttribute("teacher")
        teacherCRC = UInt32(truncatingIfNeeded: try integer("teacher_crc32"))
        method = try file.stringAttribute("method")
        seed = try integer("seed")
        (rank, worldSize) = (Int(try integer("rank")), Int(try integer("world_size")))
        (firstIteration, lastIteration) = (Int(try integer("first_iteration")), Int(try integer("last_iteration")))
        runStarted = try file.stringAttribute("provenance_started")
        (normalizationMean, normalizationStd) = (try numbers("normalization_mean"), try numbers("normalization_std"))
        guard normalizationMean.count == imageShape[0], normalizationStd.count == imageShape[0] else {
            throw StorageError(file: path, "its normalisation has \(normalizationMean.count) means and \(normalizationStd.count) deviations "
                               + "for \(imageShape[0])-channel images")
        }

        let imagesShape = try Self.requireDataset("images", in: file, type: "float32", rank: 4)
        rows = imagesShape[0]
        guard Array(imagesShape.dropFirst()) == imageShape else {
            throw StorageError(file: path, "dataset /images has shape \(imagesShape), expected [N] + image_shape \(imageShape)")
        }
        let logitsShape = try Self.requireDataset("logits", in: file, type: "float32", rank: 2)
        guard logitsShape == [rows, classes] else {
            throw StorageError(file: path, "dataset /logits has shape \(logitsShape), expected [\(rows), \(classes)] (a row per image, a column per class)")
        }
        hasLabels = file.contains("labels")
        for name in ["index", "epoch", "iteration"] + (hasLabels ? ["labels"] : []) {
            let shape = try Self.requireDataset(name, in: file, type: "int64", rank: 1)
            guard shape == [rows] else { throw StorageError(file: path, "dataset /\(name) has shape \(shape), expected [\(rows)] (a value per image)") }
        }
    }

    /// The shape of dataset `name`, after checking it exists with `type` and `rank` axes.
    private static func requireDataset(_ name: String, in file: HDF5Group, type: String, rank: Int) throws -> [Int] {
        guard file.contains(name) else { throw StorageError(file: file.file, "has no dataset /\(name) (a sample shard holds \(type) /\(name))") }
        let found = try file.datasetTypeName(name)
        guard found == type else { throw StorageError(file: file.file, "dataset /\(name) holds \(found), expected \(type)") }
        let shape = try file.datasetShape(name)
        guard shape.count == rank else { throw StorageError(file: file.file, "dataset /\(name) has shape \(shape), expected \(rank) axes") }
        // Before any reader allocates for the rows it declares.
        try file.requireStored(name)
        return shape
    }
}

/// The shards of one or more runs of one teacher, read together: what `--from-samples`
/// trains on and `dfkd inspect` summarises.
public struct SampleShardSet: Sendable {
    public let shards: [SampleShard]
    public var rows: Int { shards.reduce(0) { $0 + $1.rows } }
    public var imageShape: [Int] { shards[0].imageShape }
    public var classes: Int { shards[0].classes }
    public var hasLabels: Bool { shards[0].hasLabels }
    public var teacherCRC: UInt32 { shards[0].teacherCRC }

    /// The files `patterns` name (paths or glob patterns), in name order, each once.
    public static func expand(_ patterns: [String]) throws -> [String] {
        var paths: [String] = []
        for pattern in patterns {
            var matches = glob_t()
            defer { globfree(&matches) }
            let status = glob(pattern, 0, nil, &matches)
            guard status == 0 else {
                throw StorageError(file: pattern, status == GLOB_NOMATCH ? "no file matches (a sample shard set is given as files or a quoted glob: 'RUN/samples/*.h5')"
                                   : "cannot be expanded (glob status \(status))")
            }
            paths += (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }
        }
        var seen = Set<String>()
        return paths.filter { seen.insert($0).inserted }
    }

    /// Reads the headers of `paths` and checks that they belong together: one teacher, one
    /// image shape, one class count, labels in all or none, and within each run no
    /// iteration kept twice by one rank.
    public init(paths: [String]) throws {
        guard !paths.isEmpty else { throw StorageError(file: "--from-samples", "names no sample shard") }
        shards = try paths.map(SampleShard.init)
        let first = shards[0]
        for shard in shards.dropFirst() {
            func mismatch(_ what: String, _ mine: Any, _ theirs: Any) -> StorageError {
                StorageError(file: shard.path, "holds samples of \(what) \(mine), \(first.path) of \(theirs): one set is of one teacher's samples")
            }
            guard shard.teacherCRC == first.teacherCRC else {
                throw mismatch("the teacher with CRC-32", Checksum.hex(shard.teacherCRC) + " (\(shard.teacher))",
                               Checksum.hex(first.teacherCRC) + " (\(first.teacher))")
            }
            guard shard.imageShape == first.imageShape else { throw mismatch("image shape", shard.imageShape, first.imageShape) }
            guard shard.classes == first.classes else { throw mismatch("class count", shard.classes, first.classes) }
            guard shard.normalizationMean == first.normalizationMean, shard.normalizationStd == first.normalizationStd else {
                throw mismatch("normalisation", "\(shard.normalizationMean) / \(shard.normalizationStd)",
                               "\(first.normalizationMean) / \(first.normalizationStd)")
            }
            guard shard.hasLabels == first.hasLabels else {
                throw StorageError(file: shard.path, (shard.hasLabels ? "has" : "has no") + " dataset /labels, " + first.path
                                   + (first.hasLabels ? " has one" : " has none") + ": a set mixes conditional and unconditional generators' samples")
            }
        }
        var covered: [String: (ClosedRange<Int>, String)] = [:]
        for shard in shards.sorted(by: { $0.firstIteration < $1.firstIteration }) {
            let key = "\(shard.runStarted) \(shard.seed) \(shard.rank)"
            if let (range, other) = covered[key], range.overlaps(shard.firstIteration...shard.lastIteration) {
                throw StorageError(file: shard.path, "covers iterations \(shard.firstIteration)-\(shard.lastIteration) of rank \(shard.rank), "
                                   + "which \(other) of the same run also covers (a copy, or a shard left by an interrupted run?)")
            }
            if covered[key].map({ $0.0.upperBound < shard.lastIteration }) ?? true {
                covered[key] = (shard.firstIteration...shard.lastIteration, shard.path)
            }
        }
    }

    /// The class of each row of `logits` (rows x `classes`): its largest logit's.
    /// Rows a reader of a shard's logits and labels takes at a time (inspect, export-samples),
    /// so that its memory stays flat whatever a shard holds.
    public static let rowsPerBlock = 4096

    public static func predictedClasses(_ logits: [Float], classes: Int) -> [Int] {
        stride(from: 0, to: logits.count, by: classes).map { start in
            (start..<(start + classes)).max { logits[$0] < logits[$1] }! - start
        }
    }
}
