import Foundation
import Storage

/// Rewrites a DataFreeKD file's checksum block (docs/FILE-FORMATS.md) to fit what follows it,
/// as someone who edits a file on purpose would: the tests of what readers check beyond the
/// block (datasets' CRC-32s, the manifest, declared sizes) need files that pass it.
enum ChecksumBlockForgery {
    static func reseal(_ path: String) throws {
        let (crc, bytes) = try Checksum.crc32(ofFile: path, from: 512)
        var block = Array("dfkd-checksum 1\ncrc32 \(Checksum.hex(crc))\nbytes \(bytes)\n".utf8)
        block += [UInt8](repeating: 0, count: 512 - block.count)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(block))
    }
}
