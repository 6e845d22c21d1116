import CLibz
import Foundation
import TensorEngine

/// zlib's CRC-32, which Python's zlib.crc32 computes alike: it detects damaged or
/// mismatched data, not tampering.
public enum Checksum {
    public static func crc32<T>(_ values: [T], continuing crc: UInt32 = 0) -> UInt32 {
        values.withUnsafeBytes { bytes in
            UInt32(CLibz.crc32(UInt(crc), bytes.bindMemory(to: UInt8.self).baseAddress, UInt32(bytes.count)))
        }
    }

    /// The CRC-32 of a whole file's contents from byte `offset` on, read in blocks, and the
    /// number of bytes it covers.
    public static func crc32(ofFile path: String, from offset: UInt64 = 0) throws -> (crc: UInt32, bytes: Int) {
        try InputFile.requireRegular(path)
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StorageError(file: path, "cannot be read") }
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        var crc: UInt32 = 0, bytes = 0
        while true {
            let block = try handle.read(upToCount: 1 << 22) ?? Data()
            if block.isEmpty { return (crc, bytes) }
            crc = crc32([UInt8](block), continuing: crc)
            bytes += block.count
        }
    }

    /// The CRC-32 of a whole file's contents.
    public static func crc32(ofFile path: String) throws -> UInt32 { try crc32(ofFile: path, from: 0).crc }

    public static func hex(_ crc: UInt32) -> String { String(format: "%08x", crc) }
}
