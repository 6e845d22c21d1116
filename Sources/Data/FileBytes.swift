import CLibz
import Foundation
import TensorEngine

/// Whole-file reads, gunzipped when the file starts with gzip's magic bytes, that never
/// allocate more than the file may hold: the caller says how long the file must be, from
/// its header or a fixed limit, and no more is read or inflated (a damaged header or a
/// gzip bomb is an error, not an out-of-memory kill).
enum FileBytes {
    /// The bytes of `path`, at most `limit` of them; longer is an error.
    static func read(_ path: String, limit: Int) throws -> [UInt8] {
        try read(path, headerBytes: 0) { _ in limit }
    }

    /// The bytes of `path`, whose first `headerBytes` say (through `declaredLength`) how
    /// long the whole must be: a shorter file is truncated, a longer one an error; neither
    /// is read past the declared length.
    static func read(_ path: String, headerBytes: Int, declaredLength: (ByteReader) throws -> Int) throws -> [UInt8] {
        try InputFile.requireRegular(path, expected: "a data file")
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist")
        }
        defer { try? handle.close() }
        let source: ByteSource
        let magic = try handle.read(upToCount: 2) ?? Data()
        try handle.seek(toOffset: 0)
        if magic == Data([0x1f, 0x8b]) { source = try Inflater(handle, file: path) } else { source = RawBytes(handle) }
        var bytes = try source.next(headerBytes)
        let expected = try declaredLength(ByteReader(bytes: bytes, file: path))
        if expected > bytes.count { bytes += try source.next(expected - bytes.count) }
        let extra = try source.next(1)
        guard extra.isEmpty else {
            throw DataError(file: path, "holds more than the \(expected) bytes \(headerBytes > 0 ? "its header declares" : "a file of this kind may have")")
        }
        return bytes
    }
}

/// Bytes taken from a file in order.
private protocol ByteSource {
    /// Up to `count` more bytes; fewer only at the end.
    func next(_ count: Int) throws -> [UInt8]
}

private struct RawBytes: ByteSource {
    let handle: FileHandle
    init(_ handle: FileHandle) { self.handle = handle }
    func next(_ count: Int) throws -> [UInt8] { count == 0 ? [] : [UInt8](try handle.read(upToCount: count) ?? Data()) }
}

/// A gzip stream inflated on demand, so that only what is asked for is ever produced.
private final class Inflater: ByteSource {
    private var stream = z_stream()
    private let handle: FileHandle
    private let file: String
    private var input = [UInt8]()
    private var inputOffset = 0
    private var ended = false
    private var produced = 0

    init(_ handle: FileHandle, file: String) throws {
        self.handle = handle
        self.file = file
        guard dfkd_inflate_init_gzip(&stream) == Z_OK else { throw DataError(file: file, "zlib could not start inflating") }
    }

    deinit { inflateEnd(&stream) }

    func next(_ count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        var output = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count && !ended {
            if inputOffset == input.count {
                input = [UInt8](try handle.read(upToCount: 1 << 20) ?? Data())
                inputOffset = 0
                if input.isEmpty { throw DataError(file: file, "gzip data is truncated (after \(produced + filled) bytes)") }
            }
            let status: Int32 = input.withUnsafeMutableBufferPointer { inBuffer in
                output.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_in = inBuffer.baseAddress! + inputOffset
                    stream.avail_in = uInt(inBuffer.count - inputOffset)
                    stream.next_out = outBuffer.baseAddress! + filled
                    stream.avail_out = uInt(count - filled)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    inputOffset = inBuffer.count - Int(stream.avail_in)
                    filled = count - Int(stream.avail_out)
                    return status
                }
            }
            switch status {
            case Z_STREAM_END: ended = true
            case Z_OK, Z_BUF_ERROR: break
            default: throw DataError(file: file, "gzip data is corrupt (zlib status \(status) after \(produced + filled) bytes)")
            }
        }
        produced += filled
        return Array(output[0..<filled])
    }
}

/// Big-endian reads from a byte array, with the file named in any error.
struct ByteReader {
    let bytes: [UInt8]
    let file: String

    func uint32(at offset: Int, field: String) throws -> Int {
        guard offset + 4 <= bytes.count else {
            throw DataError(file: file, "truncated: the \(field) at byte \(offset) is missing (file has \(bytes.count) bytes)")
        }
        return (0..<4).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
    }
}
