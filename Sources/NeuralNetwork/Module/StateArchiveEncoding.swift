/// A state archive as bytes, for sending it to the other ranks of a job in one message: per
/// entry the name's length and UTF-8 bytes, a type tag, the rank and dimensions, then the
/// values in the machine's byte order (every rank of a job runs on the same architecture).
extension StateArchive {
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        func append<T>(_ value: T) { withUnsafeBytes(of: value) { bytes += $0 } }
        func append<T>(contentsOf values: [T]) { values.withUnsafeBytes { bytes += $0 } }
        append(Int64(entries.count))
        for entry in entries {
            let name = Array(entry.name.utf8)
            append(Int64(name.count))
            bytes += name
            append(Int64(entry.shape.count))
            for dimension in entry.shape { append(Int64(dimension)) }
            switch entry.values {
            case .floats(let v): bytes.append(0); append(Int64(v.count)); append(contentsOf: v)
            case .doubles(let v): bytes.append(1); append(Int64(v.count)); append(contentsOf: v)
            case .integers(let v): bytes.append(2); append(Int64(v.count)); append(contentsOf: v)
            }
        }
        return bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        self.init()
        var offset = 0
        func read<T>(_ type: T.Type) throws -> T {
            guard offset + MemoryLayout<T>.size <= bytes.count else { throw StateArchiveError.undecodable("ends early at byte \(offset)") }
            defer { offset += MemoryLayout<T>.size }
            return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        }
        func readCount() throws -> Int {
            let count = try read(Int64.self)
            guard count >= 0, count <= Int64(bytes.count - offset) else { throw StateArchiveError.undecodable("bad count \(count) at byte \(offset)") }
            return Int(count)
        }
        func readArray<T>(_ type: T.Type) throws -> [T] {
            let count = try readCount()
            guard offset + count * MemoryLayout<T>.stride <= bytes.count else { throw StateArchiveError.undecodable("ends early at byte \(offset)") }
            let values = bytes.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: offset + $0 * MemoryLayout<T>.stride, as: T.self) } }
            offset += count * MemoryLayout<T>.stride
            return values
        }
        let entryCount = try readCount()
        for _ in 0..<entryCount {
            let nameLength = try readCount()
            guard offset + nameLength <= bytes.count else { throw StateArchiveError.undecodable("ends early at byte \(offset)") }
            let name = String(decoding: bytes[offset..<(offset + nameLength)], as: UTF8.self)
            offset += nameLength
            let shape = try (0..<readCount()).map { _ in Int(try read(Int64.self)) }
            let values: Values
            switch try read(UInt8.self) {
            case 0: values = .floats(try readArray(Float.self))
            case 1: values = .doubles(try readArray(Double.self))
            case 2: values = .integers(try readArray(Int64.self))
            case let tag: throw StateArchiveError.undecodable("unknown type tag \(tag) for \(name)")
            }
            guard shape.reduce(1, *) == values.count else { throw StateArchiveError.undecodable("\(name): shape \(shape) for \(values.count) values") }
            add(name, values, shape: shape)
        }
    }
}
