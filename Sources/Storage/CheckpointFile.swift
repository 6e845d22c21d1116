import Foundation
import NeuralNetwork

/// Checkpoint files: a training loop's whole state (a `StateArchive`, each entry a dataset at
/// its path) and root attributes that describe the run, laid out as docs/FILE-FORMATS.md
/// describes so that h5py alone reads them. Every dataset carries the CRC-32 of its values
/// (`crc32`), and the root's `checksum` covers every dataset's CRC and every attribute, so a
/// damaged, truncated or edited file is refused with the place that does not match.
public enum CheckpointFile {
    public static let format = "dfkd-checkpoint"
    public static let formatVersion: Int64 = 1

    public enum Attribute: Equatable, Sendable {
        case text(String)
        case integer(Int64)
        case number(Double)

        /// Numbers bit for bit (a NaN accuracy before the first epoch equals itself).
        public static func == (a: Attribute, b: Attribute) -> Bool {
            switch (a, b) {
            case let (.text(x), .text(y)): x == y
            case let (.integer(x), .integer(y)): x == y
            case let (.number(x), .number(y)): x.bitPattern == y.bitPattern
            default: false
            }
        }
    }

    public struct Contents: Equatable, Sendable {
        public var attributes: [String: Attribute]
        public var state: StateArchive

        public init(attributes: [String: Attribute], state: StateArchive) {
            self.attributes = attributes
            self.state = state
        }

        public func text(_ name: String, in file: String) throws -> String {
            guard case .text(let value) = attributes[name] else { throw missing(name, "a string", file) }
            return value
        }

        public func integer(_ name: String, in file: String) throws -> Int {
            guard case .integer(let value) = attributes[name] else { throw missing(name, "an int64", file) }
            return Int(value)
        }

        public func number(_ name: String, in file: String) throws -> Double {
            guard case .number(let value) = attributes[name] else { throw missing(name, "a float64", file) }
            return value
        }

        private func missing(_ name: String, _ kind: String, _ file: String) -> StorageError {
            StorageError(file: file, attributes[name] == nil ? "has no root attribute '\(name)'" : "root attribute '\(name)' is not \(kind)")
        }
    }

    private static let reserved: Set<String> = ["format", "format_version", "checksum", "datasets"]

    /// Writes `contents` to `path` atomically, and reads the new file back and checks it
    /// before it replaces the old one: a full disk or a failing write is an error here and
    /// leaves the file that was at `path` as it was.
    public static func write(_ contents: Contents, to path: String) throws {
        try AtomicFile.write(path) { temporary in
            try writeFile(contents, to: temporary)
            let written = try read(temporary)
            guard written == contents else { throw StorageError(file: temporary, "reads back other than it was written") }
        }
    }

    private static func writeFile(_ contents: Contents, to path: String) throws {
        let file = try HDF5Group.create(path)
        var crcs: [String: UInt32] = [:]
        try file.setAttribute("format", format)
        try file.setAttribute("format_version", formatVersion)
        for (name, value) in contents.attributes {
            precondition(!reserved.contains(name), "\(name) is a reserved checkpoint attribute")
            try file.setAttribute(name, value)
        }
        for entry in contents.state.entries {
            let (groupPath, name) = split(entry.name)
            let group = try file.makeGroups(groupPath)
            let crc: UInt32
            switch entry.values {
            case .floats(let v): try group.write(name, v, shape: entry.shape); crc = Checksum.crc32(v)
            case .doubles(let v): try group.write(name, v, shape: entry.shape); crc = Checksum.crc32(v)
            case .integers(let v): try group.write(name, v, shape: entry.shape); crc = Checksum.crc32(v)
            }
            try group.setDatasetAttribute(name, "crc32", Int64(crc))
            crcs[entry.name] = crc
        }
        try file.setAttribute("datasets", crcs.keys.sorted().joined(separator: "\n"))
        try file.setAttribute("checksum", Int64(manifestChecksum(datasets: crcs, attributes: contents.attributes)))
        try file.flush()
        try file.close()
    }

    /// The checkpoint at `path`, every checksum verified.
    public static func read(_ path: String) throws -> Contents {
        let file = try HDF5Group.open(path)
        try file.requireFormat(format, describedAs: "a DataFreeKD checkpoint", newestVersion: formatVersion)
        var attributes: [String: Attribute] = [:]
        for name in file.attributeNames where !reserved.contains(name) {
            switch try file.attributeTypeName(name) {
            case "strings": attributes[name] = .text(try file.stringAttribute(name))
            case let type where type.hasPrefix("int"): attributes[name] = .integer(try file.numericAttribute(name, as: Int64.self).first ?? 0)
            case let type where type.hasPrefix("float"): attributes[name] = .number(try file.numericAttribute(name, as: Double.self).first ?? 0)
            case let type: throw StorageError(file: path, "root attribute '\(name)' holds \(type), expected a string or a number")
            }
        }
        guard file.attributeNames.contains("datasets") else { throw StorageError(file: path, "has no root attribute 'datasets'") }
        let listed = try file.stringAttribute("datasets").split(separator: "\n").map(String.init)
        let present = try file.datasetPaths()
        let missing = Set(listed).subtracting(present).sorted(), unlisted = Set(present).subtracting(listed).sorted()
        guard missing.isEmpty && unlisted.isEmpty else {
            throw StorageError(file: path, (missing.map { "dataset /\($0) is missing" } + unlisted.map { "dataset /\($0) is not part of the checkpoint" })
                                   .joined(separator: "; "))
        }
        var state = StateArchive(), crcs: [String: UInt32] = [:]
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? Int.max
        for entryPath in present {
            let (groupPath, name) = split(entryPath)
            let group = groupPath.isEmpty ? file : try file.group(atPath: groupPath)
            // Checkpoints store their datasets uncompressed: a header declaring more than the
            // file holds is damaged, and is refused before its size is allocated.
            let declared = try group.datasetShape(name)
            guard HDF5Group.elementCount(of: declared) <= fileBytes / 4 else {
                throw StorageError(file: path, "dataset /\(entryPath) declares shape \(declared), more than the file's \(fileBytes) bytes hold")
            }
            let values: StateArchive.Values, shape: [Int], crc: UInt32
            switch try group.datasetTypeName(name) {
            case "float32":
                let read = try group.read(name, as: Float.self)
                (values, shape, crc) = (.floats(read.values), read.shape, Checksum.crc32(read.values))
            case "float64":
                let read = try group.read(name, as: Double.self)
                (values, shape, crc) = (.doubles(read.values), read.shape, Checksum.crc32(read.values))
            case "int64":
                let read = try group.read(name, as: Int64.self)
                (values, shape, crc) = (.integers(read.values), read.shape, Checksum.crc32(read.values))
            case let type:
                throw StorageError(file: path, "dataset /\(entryPath) holds \(type), expected float32, float64 or int64")
            }
            guard let stored = try group.datasetIntegerAttribute(name, "crc32") else {
                throw StorageError(file: path, "dataset /\(entryPath) has no crc32 attribute")
            }
            guard UInt32(truncatingIfNeeded: stored) == crc else {
                throw StorageError(file: path, "dataset /\(entryPath) is damaged: its values' CRC-32 is \(Checksum.hex(crc)), "
                                   + "the file recorded \(Checksum.hex(UInt32(truncatingIfNeeded: stored)))")
            }
            state.add(entryPath, values, shape: shape)
            crcs[entryPath] = crc
        }
        guard file.attributeNames.contains("checksum") else { throw StorageError(file: path, "has no root attribute 'checksum'") }
        let stored = UInt32(truncatingIfNeeded: try file.numericAttribute("checksum", as: Int64.self).first ?? 0)
        let computed = manifestChecksum(datasets: crcs, attributes: attributes)
        guard stored == computed else {
            throw StorageError(file: path, "root attribute 'checksum' is \(Checksum.hex(stored)), but the datasets and attributes give "
                               + "\(Checksum.hex(computed)): a dataset or an attribute was removed, added or changed")
        }
        return Contents(attributes: attributes, state: state)
    }

    /// The CRC-32 of the manifest: a line "PATH CRC" (CRC in 8 hex digits) per dataset in
    /// path order, then "NAME=VALUE" per root attribute in name order, VALUE the decimal
    /// integer, the 16 hex digits of a float64's bits, or the 8 hex digits of a string's
    /// UTF-8 CRC-32.
    static func manifestChecksum(datasets: [String: UInt32], attributes: [String: Attribute]) -> UInt32 {
        var lines = datasets.keys.sorted().map { "\($0) \(Checksum.hex(datasets[$0]!))" }
        for name in attributes.keys.sorted() {
            switch attributes[name]! {
            case .integer(let value): lines.append("\(name)=\(value)")
            case .number(let value): lines.append("\(name)=\(String(format: "%016llx", value.bitPattern))")
            case .text(let value): lines.append("\(name)=\(Checksum.hex(Checksum.crc32(Array(value.utf8))))")
            }
        }
        return Checksum.crc32(Array(lines.map { $0 + "\n" }.joined().utf8))
    }

    private static func split(_ path: String) -> (group: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }
}

extension CheckpointFile.Contents {
    /// The contents as one message for the other ranks of a job: the state's entries and
    /// the attributes as entries under `@text/`, `@integer/` and `@number/`.
    public func encoded() -> [UInt8] {
        var archive = state
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) {
            switch value {
            case .text(let text): archive.add("@text/" + name, .integers(text.utf8.map(Int64.init)))
            case .integer(let integer): archive.add("@integer/" + name, .integers([integer]), shape: [])
            case .number(let number): archive.add("@number/" + name, .doubles([number]), shape: [])
            }
        }
        return archive.encoded()
    }

    public init(decoding bytes: [UInt8]) throws {
        let archive = try StateArchive(decoding: bytes)
        var state = StateArchive(), attributes: [String: CheckpointFile.Attribute] = [:]
        for entry in archive.entries {
            let parts = entry.name.split(separator: "/", maxSplits: 1).map(String.init)
            switch (parts.first, entry.values) {
            case ("@text", .integers(let v)): attributes[parts[1]] = .text(String(decoding: v.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self))
            case ("@integer", .integers(let v)): attributes[parts[1]] = .integer(v[0])
            case ("@number", .doubles(let v)): attributes[parts[1]] = .number(v[0])
            default: state.add(entry.name, entry.values, shape: entry.shape)
            }
        }
        self.init(attributes: attributes, state: state)
    }
}

extension HDF5Group {
    /// Writes a checkpoint-style attribute as a string, an int64 or a float64.
    public func setAttribute(_ name: String, _ value: CheckpointFile.Attribute) throws {
        switch value {
        case .text(let text): try setAttribute(name, text)
        case .integer(let integer): try setAttribute(name, integer)
        case .number(let number): try setAttribute(name, number)
        }
    }
}
