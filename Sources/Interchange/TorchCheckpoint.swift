import Foundation
import TensorEngine
import ZIPFoundation

/// A PyTorch checkpoint as torch.save writes it since 1.6: a zip archive of `data.pkl` (the
/// pickled object) and `data/KEY` (each tensor storage's bytes), read without Python and
/// without running anything from the file.
public enum TorchCheckpoint {
    /// The callables a state dict's pickle applies; anything else is refused.
    static let allowedCalls: Set = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state", "builtins.set", "__builtin__.set",
    ]
    /// Where checkpoints commonly keep their state dict, in the order looked at.
    public static let stateKeys = ["state_dict", "model_state_dict", "model", "net", "state"]

    static let storageTypes: [String: StoredDType] = [
        "FloatStorage": .float32, "DoubleStorage": .float64, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8,
        "BoolStorage": .bool,
    ]

    /// The state dict in the file at `path`, and where it was found ("the top level",
    /// "under 'state_dict'").
    public static func read(_ path: String) throws -> (state: StateDictionary, place: String) {
        let object = try load(path)
        return try stateDictionary(in: object, file: path)
    }

    /// The unpickled object of the checkpoint, its tensors rebuilt as `.call` values.
    static func load(_ path: String) throws -> (root: PickleValue, storages: [String: (StoredDType, [UInt8])]) {
        try InputFile.requireRegular(path, expected: "a PyTorch checkpoint (.pth)")
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InterchangeError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read (permission denied)" : "no such file")
        }
        let magic = (try? handle.read(upToCount: 4)).map { Array($0) } ?? []
        try? handle.close()
        guard magic.starts(with: [0x50, 0x4B]) else {
            if magic.first == 0x80 || magic.starts(with: [0x8A, 0x0A]) {
                throw InterchangeError(file: path, "is a PyTorch file of the format before torch 1.6 (a bare pickle, not a zip); "
                                       + "load it in PyTorch and save it again with torch.save")
            }
            throw InterchangeError(file: path, "is not a PyTorch checkpoint (expected a zip archive, as torch.save writes)")
        }
        let archive: Archive
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw InterchangeError(file: path, "is not a readable zip archive (truncated or damaged): \(error)")
        }
        let entries = Array(archive)
        guard let pickle = entries.first(where: { $0.path.hasSuffix("data.pkl") && $0.path.split(separator: "/").count == 2 }) else {
            throw InterchangeError(file: path, "is a zip archive without ARCHIVE/data.pkl; not a PyTorch checkpoint")
        }
        let prefix = String(pickle.path.dropLast("data.pkl".count))
        let root: PickleValue
        do { root = try RestrictedUnpickler(allowed: allowedCalls).load(try extract(pickle, from: archive, file: path)) } catch let error as PickleError {
            throw InterchangeError(file: path, "\(pickle.path): \(error)")
        }
        var storages: [String: (StoredDType, [UInt8])] = [:]
        for reference in persistentStorages(in: root) {
            guard storages[reference.key] == nil else { continue }
            guard let entry = archive[prefix + "data/" + reference.key] else {
                throw InterchangeError(file: path, "the pickle refers to storage \(reference.key), which the archive lacks (\(prefix)data/\(reference.key))")
            }
            let bytes = try extract(entry, from: archive, file: path)
            guard let needed = CheckedArithmetic.product([reference.count, reference.dtype.size]), bytes.count >= needed else {
                throw InterchangeError(file: path, "\(entry.path) holds \(bytes.count) bytes, fewer than its \(reference.count) \(reference.dtype) elements")
            }
            storages[reference.key] = (reference.dtype, bytes)
        }
        return (root, storages)
    }

    private static func extract(_ entry: Entry, from archive: Archive, file: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        // The declared size is the file's word, not yet checked: reserve no more than the file holds.
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        bytes.reserveCapacity(min(Int(clamping: entry.uncompressedSize), fileSize))
        let checksum: CRC32
        do { checksum = try archive.extract(entry, skipCRC32: false) { bytes.append(contentsOf: $0) } } catch {
            throw InterchangeError(file: file, "\(entry.path) cannot be read (truncated or damaged: \(error))")
        }
        // The archive reader returns the CRC-32 of what it read; the comparison is the reader's.
        guard checksum == entry.checksum else {
            throw InterchangeError(file: file, "\(entry.path) cannot be read (truncated or damaged: CRC-32 \(checksum), the archive records \(entry.checksum))")
        }
        return bytes
    }

    private struct StorageReference { let key: String; let dtype: StoredDType; let count: Int }

    /// Every storage a persistent id names: ('storage', torch.XStorage, key, location, count).
    private static func persistentStorages(in value: PickleValue) -> [StorageReference] {
        switch value {
        case .persistent(let id):
            guard let fields = id.items, fields.count >= 5, fields[0].string == "storage", case .global(_, let type) = fields[1],
                  let dtype = storageTypes[type], let key = fields[2].string, let count = fields[4].int else { return [] }
            return [StorageReference(key: key, dtype: dtype, count: Int(count))]
        case .list(let items), .tuple(let items): return items.flatMap(persistentStorages)
        case .dict(let entries): return entries.flatMap { persistentStorages(in: $0.key) + persistentStorages(in: $0.value) }
        case .call(let callable, let arguments): return persistentStorages(in: callable) + arguments.flatMap(persistentStorages)
        case .object(_, _, let state): return state.map(persistentStorages) ?? []
        default: return []
        }
    }

    /// Finds the state dict: the object itself, or under one of `stateKeys`; a pickled module
    /// is named with what to run in PyTorch instead.
    static func stateDictionary(in loaded: (root: PickleValue, storages: [String: (StoredDType, [UInt8])]), file: String) throws
        -> (state: StateDictionary, place: String) {
        if let state = try tensors(of: loaded.root, loaded.storages, file: file) { return (state, "the top level") }
        if let entries = loaded.root.dictionary {
            for key in stateKeys {
                guard let value = entries.first(where: { $0.key.string == key })?.value else { continue }
                if let state = try tensors(of: value, loaded.storages, file: file) { return (state, "under '\(key)'") }
                if case .object(let module, let name, _) = value { throw wholeModule(module, name, file: file, key: key) }
            }
            let keys = entries.compactMap(\.key.string).prefix(10).map { "'\($0)'" }.joined(separator: ", ")
            throw InterchangeError(file: file, "holds a dict with keys \(keys) but no state dict: expected tensors by name, or a state dict under "
                                   + stateKeys.map { "'\($0)'" }.joined(separator: ", "))
        }
        if case .object(let module, let name, _) = loaded.root { throw wholeModule(module, name, file: file, key: nil) }
        throw InterchangeError(file: file, "holds no state dict (the pickled object is not a dict)")
    }

    private static func wholeModule(_ module: String, _ name: String, file: String, key: String?) -> InterchangeError {
        let load = "torch.load('\(file)', weights_only=False)" + (key.map { "['\($0)']" } ?? "")
        return InterchangeError(file: file, "holds a whole pickled module (\(module).\(name)), not a state dict; dfkd runs no code from a file. "
                                + "In PyTorch, with the module's definition importable: torch.save(\(load).state_dict(), 'state_dict.pth')")
    }

    /// The tensors of a dict whose every value is a tensor; nil for anything else.
    private static func tensors(of value: PickleValue, _ storages: [String: (StoredDType, [UInt8])], file: String) throws -> StateDictionary? {
        guard let entries = value.dictionary, !entries.isEmpty else { return nil }
        var tensors: [(name: String, tensor: StoredTensor)] = []
        for entry in entries {
            guard let name = entry.key.string, let tensor = try tensor(entry.value, storages, file: file, name: name) else { return nil }
            tensors.append((name, tensor))
        }
        return StateDictionary(tensors)
    }

    /// A rebuilt tensor: `_rebuild_tensor_v2(storage, offset, size, stride, ...)`, possibly
    /// inside `_rebuild_parameter(tensor, requires_grad, hooks)`.
    private static func tensor(_ value: PickleValue, _ storages: [String: (StoredDType, [UInt8])], file: String, name: String) throws -> StoredTensor? {
        guard case .call(.global(let module, let function), let arguments) = value, module == "torch._utils" else { return nil }
        if function.hasPrefix("_rebuild_parameter"), let inner = arguments.first { return try tensor(inner, storages, file: file, name: name) }
        guard function == "_rebuild_tensor_v2", arguments.count >= 4, case .persistent(let id) = arguments[0],
              let key = id.items?[2].string, let (dtype, bytes) = storages[key], let offset = arguments[1].int,
              let size = arguments[2].items?.compactMap(\.int), let stride = arguments[3].items?.compactMap(\.int), size.count == stride.count else {
            if case .call = value {
                throw InterchangeError(file: file, "\(name): a tensor this reader cannot rebuild (torch._utils.\(function)); save it as a plain state dict")
            }
            return nil
        }
        let shape = size.map { Int($0) }, strides = stride.map { Int($0) }
        let elements = bytes.count / dtype.size
        func outside(_ why: String) -> InterchangeError {
            InterchangeError(file: file, "\(name): shape \(shape), strides \(strides) and storage offset \(offset) \(why) (its storage holds \(elements) elements)")
        }
        // A state dict's tensor has at most its storage's elements (no broadcast views), and
        // PyTorch itself refuses negative strides.
        guard let count = CheckedArithmetic.product(shape), count <= elements else { throw outside("need more elements than the storage holds") }
        guard offset >= 0, strides.allSatisfy({ $0 >= 0 }) else { throw outside("are negative; PyTorch refuses negative strides") }
        guard count > 0 else { return StoredTensor(dtype: dtype, shape: shape, bytes: []) }
        // The last element's place in the storage: every other lies between the offset and it.
        var last: Int? = Int(offset)
        for (extent, step) in zip(shape, strides) { last = last.flatMap { CheckedArithmetic.multiplyAdd(extent - 1, step, $0) } }
        guard let last, last < elements else { throw outside("reach outside the storage") }
        let contiguous = (0..<shape.count).map { axis in shape[(axis + 1)...].reduce(1, *) }
        if strides == contiguous {
            return StoredTensor(dtype: dtype, shape: shape, bytes: Array(bytes[(Int(offset) * dtype.size)..<((Int(offset) + count) * dtype.size)]))
        }
        // Gather by strides (a view or a transposed tensor); every index is inside the storage (above).
        var gathered = [UInt8](repeating: 0, count: count * dtype.size)
        var index = [Int](repeating: 0, count: shape.count)
        for position in 0..<count {
            var source = Int(offset)
            for axis in 0..<shape.count { source += index[axis] * strides[axis] }
            gathered.withUnsafeMutableBytes { target in
                bytes.withUnsafeBytes { from in
                    target.baseAddress!.advanced(by: position * dtype.size).copyMemory(from: from.baseAddress!.advanced(by: source * dtype.size), byteCount: dtype.size)
                }
            }
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return StoredTensor(dtype: dtype, shape: shape, bytes: gathered)
    }
}
