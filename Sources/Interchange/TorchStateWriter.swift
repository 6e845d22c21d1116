import Foundation
import ZIPFoundation

/// Writes a state dict as torch.save does: a zip archive `archive/` of `data.pkl` (an
/// OrderedDict of `torch._utils._rebuild_tensor_v2` calls on persistent storages, pickle
/// protocol 2), `data/K` (each tensor's bytes), `byteorder` and `version`. It uses only what
/// `torch.load(..., weights_only=True)` allows.
public enum TorchStateWriter {
    static let storageNames: [StoredDType: String] = Dictionary(uniqueKeysWithValues: TorchCheckpoint.storageTypes.map { ($0.value, $0.key) })

    /// Writes the archive to `path`, replacing any file there (callers that need atomicity
    /// give a temporary path).
    public static func write(_ state: StateDictionary, to path: String) throws {
        do {
            // ZIPFoundation creates archives only where no file is.
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
            func add(_ name: String, _ bytes: [UInt8]) throws {
                let data = Data(bytes)
                try archive.addEntry(with: "archive/" + name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none) { position, size in
                    data.subdata(in: Int(position)..<(Int(position) + size))
                }
            }
            try add("data.pkl", try pickle(state))
            try add("byteorder", Array("little".utf8))
            for (index, entry) in state.tensors.enumerated() { try add("data/\(index)", entry.tensor.bytes) }
            try add("version", Array("3\n".utf8))
        } catch {
            throw InterchangeError(file: path, "cannot be written: \(error)")
        }
    }

    /// The pickle of the state dict: storage K is tensor K's, contiguous, at offset 0.
    static func pickle(_ state: StateDictionary) throws -> [UInt8] {
        var out: [UInt8] = [0x80, 0x02]
        func global(_ module: String, _ name: String) { out += [0x63] + Array("\(module)\n\(name)\n".utf8) }
        func text(_ value: String) {
            let bytes = Array(value.utf8)
            out += [0x58] + withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { Array($0) } + bytes
        }
        func integer(_ value: Int) {
            if let small = Int32(exactly: value) {
                out += [0x4A] + withUnsafeBytes(of: small.littleEndian) { Array($0) }
            } else {
                out += [0x8A, 8] + withUnsafeBytes(of: Int64(value).littleEndian) { Array($0) }
            }
        }
        func tuple(_ values: [Int]) {
            out.append(0x28)
            values.forEach(integer)
            out.append(0x74)
        }
        global("collections", "OrderedDict")
        out += [0x29, 0x52, 0x28]                          // (), REDUCE, MARK
        for (index, entry) in state.tensors.enumerated() {
            guard let storage = storageNames[entry.tensor.dtype] else {
                throw InterchangeError(file: entry.name, "has type \(entry.tensor.dtype.rawValue), which a PyTorch storage cannot hold")
            }
            text(entry.name)
            global("torch._utils", "_rebuild_tensor_v2")
            out.append(0x28)                               // the call's arguments
            out.append(0x28)                               // the persistent id
            text("storage")
            global("torch", storage)
            text("\(index)")
            text("cpu")
            integer(entry.tensor.count)
            out += [0x74, 0x51]                            // TUPLE, BINPERSID
            integer(0)
            let shape = entry.tensor.shape
            tuple(shape)
            tuple((0..<shape.count).map { axis in shape[(axis + 1)...].reduce(1, *) })
            out.append(0x89)                               // requires_grad False
            global("collections", "OrderedDict")
            out += [0x29, 0x52]                            // backward hooks: OrderedDict()
            out += [0x74, 0x52]                            // TUPLE, REDUCE
        }
        out += [0x75, 0x2E]                                // SETITEMS, STOP
        return out
    }
}
