import CZlib
import Foundation

/// Whole-file reads, gunzipped when the file starts with gzip's magic bytes.
enum FileBytes {
    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist")
        }
        let bytes = [UInt8](data)
        return bytes.starts(with: [0x1f, 0x8b]) ? try gunzip(bytes, file: path) : bytes
    }

    static func gunzip(_ compressed: [UInt8], file: String) throws -> [UInt8] {
        var stream = z_stream()
        guard dfkd_inflate_init_gzip(&stream) == Z_OK else { throw DataError(file: file, "zlib could not start inflating") }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var input = compressed
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = uInt(inBuffer.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    output.append(contentsOf: out[0..<(out.count - Int(stream.avail_out))])
                }
            } while status == Z_OK
        }
        guard status == Z_STREAM_END else {
            throw DataError(file: file, "gzip data is corrupt or truncated (zlib status \(status) after \(output.count) bytes)")
        }
        return output
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
