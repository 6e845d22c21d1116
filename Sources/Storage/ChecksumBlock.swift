import Foundation
import TensorEngine

/// The 512-byte block in front of every HDF5 file DataFreeKD writes (an HDF5 user block,
/// which HDF5, h5py and h5dump skip): a few text lines holding the CRC-32 and length of the
/// HDF5 data after it. A file is checked against it before the HDF5 library parses a byte,
/// because the library can crash on damaged metadata (variable-length strings live in a
/// heap without checksums), and a damaged file must be an error instead.
///
///     dfkd-checksum 1
///     crc32 1c291ca3
///     bytes 258048
enum ChecksumBlock {
    static let size = 512
    static let magic = "dfkd-checksum 1\n"
    private static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]

    /// Fills the block of the closed file at `path` with the checksum of what follows it.
    static func seal(_ path: String) throws {
        let (crc, bytes) = try Checksum.crc32(ofFile: path, from: UInt64(size))
        var block = Array((magic + "crc32 \(Checksum.hex(crc))\nbytes \(bytes)\n").utf8)
        block += [UInt8](repeating: 0, count: size - block.count)
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw StorageError(file: path, "cannot be opened to record its checksum: \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data(block)) } catch {
            throw StorageError(file: path, "its checksum was not written: \(error.localizedDescription)")
        }
    }

    /// Throws unless the file at `path` is whole: a file with the block must match it; a
    /// file of another writer (the HDF5 signature at byte 0) has none and is not checked.
    /// Returns what the block records, nil for a file without one.
    @discardableResult
    static func verify(_ path: String) throws -> (crc: UInt32, bytes: Int)? {
        try InputFile.requireRegular(path, expected: "an HDF5 file")
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StorageError(file: path, "cannot be read") }
        let head = [UInt8]((try? handle.read(upToCount: size + hdf5Signature.count)) ?? Data())
        try? handle.close()
        if head.starts(with: hdf5Signature) { return nil }
        guard head.count == size + hdf5Signature.count, Array(head[size...]) == hdf5Signature else {
            throw StorageError(file: path, "is not a readable HDF5 file (no HDF5 signature at byte 0 or \(size): truncated or of another format)")
        }
        let text = String(decoding: head[..<size].prefix { $0 != 0 }, as: UTF8.self)
        let fields = Dictionary(text.split(separator: "\n").dropFirst().compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }, uniquingKeysWith: { $1 })
        guard text.hasPrefix(magic), let recorded = fields["crc32"].flatMap({ UInt32($0, radix: 16) }),
              let length = fields["bytes"].flatMap({ Int($0) }) else {
            throw StorageError(file: path, "its first \(size) bytes are not DataFreeKD's checksum block (damaged, or another "
                               + "writer's HDF5 user block; `h5unjam -i FILE -o PLAIN.h5` removes a user block)")
        }
        let (crc, bytes) = try Checksum.crc32(ofFile: path, from: UInt64(size))
        guard bytes == length else {
            throw StorageError(file: path, "holds \(bytes) bytes of HDF5 data, its checksum block records \(length)"
                               + (bytes < length ? " (truncated)" : ""))
        }
        guard crc == recorded else {
            throw StorageError(file: path, "is damaged: the CRC-32 of its HDF5 data is \(Checksum.hex(crc)), its checksum block "
                               + "records \(Checksum.hex(recorded)) (or another tool changed it: `h5unjam -i FILE -o PLAIN.h5` "
                               + "gives a copy read without the check)")
        }
        return (crc, bytes)
    }
}
