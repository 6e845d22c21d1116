import Foundation
import TensorEngine

/// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON naming
/// each tensor's dtype, shape and byte range in the data that follows, and an optional
/// `__metadata__` of text values. Nothing in it is code.
public enum Safetensors {
    /// Headers are kilobytes; beyond this a file is refused before its header is read.
    static let maximumHeaderBytes = 100 << 20

    public static func read(_ path: String) throws -> (state: StateDictionary, metadata: [String: String]) {
        try InputFile.requireRegular(path, expected: "a safetensors file")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InterchangeError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read (permission denied)" : "no such file")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw InterchangeError(file: path, "is \(bytes.count) bytes long; a safetensors file starts with an 8-byte header length") }
        let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(min(maximumHeaderBytes, bytes.count - 8)) else {
            throw InterchangeError(file: path, "declares a header of \(length) bytes, more than the \(bytes.count - 8) bytes after the length (truncated, or not safetensors)")
        }
        let headerEnd = 8 + Int(length)
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) as? [String: Any] else {
            throw InterchangeError(file: path, "its header is not a JSON object (not a safetensors file, or damaged)")
        }
        let dataBytes = bytes.count - headerEnd
        var metadata: [String: String] = [:]
        var tensors: [(name: String, tensor: StoredTensor, start: Int)] = []
        var problems: [String] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let entries = value as? [String: String] else { problems.append("__metadata__: expected text values"); continue }
                metadata = entries
                continue
            }
            guard let fields = value as? [String: Any], let typeName = fields["dtype"] as? String,
                  let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int], offsets.count == 2 else {
                problems.append("\(name): expected dtype, shape and data_offsets [begin, end]")
                continue
            }
            guard let dtype = StoredDType(rawValue: typeName) else {
                problems.append("\(name): dtype \(typeName) is not supported (expected one of \(StoredDType.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, begin <= end, end <= dataBytes else {
                problems.append("\(name): data_offsets [\(begin), \(end)] outside the \(dataBytes) data bytes, or shape \(shape) negative")
                continue
            }
            let size = CheckedArithmetic.product(shape + [dtype.size])
            guard size == end - begin else {
                problems.append("\(name): shape \(shape) of \(typeName) needs " + (size.map { "\($0) bytes" } ?? "more bytes than a file can hold")
                                + ", its data_offsets give \(end - begin)")
                continue
            }
            tensors.append((name, StoredTensor(dtype: dtype, shape: shape, bytes: Array(bytes[(headerEnd + begin)..<(headerEnd + end)])), begin))
        }
        guard problems.isEmpty else { throw InterchangeError(file: path, "its header does not describe its data:\n  " + problems.sorted().joined(separator: "\n  ")) }
        return (StateDictionary(tensors.sorted { $0.start < $1.start }.map { ($0.name, $0.tensor) }), metadata)
    }

    /// Writes `state` (names in its order) with `metadata` to `path` in one pass (callers that
    /// need atomicity give a temporary path).
    public static func write(_ state: StateDictionary, metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = metadata.isEmpty ? [:] : ["__metadata__": metadata]
        var offset = 0
        for (name, tensor) in state.tensors {
            header[name] = ["dtype": tensor.dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + tensor.bytes.count]]
            offset += tensor.bytes.count
        }
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        // Padded with spaces to a multiple of 8, so the data that follows is aligned.
        while (json.count % 8) != 0 { json.append(0x20) }
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json
        bytes.reserveCapacity(bytes.count + offset)
        for (_, tensor) in state.tensors { bytes += tensor.bytes }
        do { try Data(bytes).write(to: URL(fileURLWithPath: path)) } catch {
            throw InterchangeError(file: path, "cannot be written: \(error.localizedDescription)")
        }
    }
}
