import Foundation

/// An error in a file this module reads or writes: the file, then what is wrong.
public struct InterchangeError: Error, CustomStringConvertible {
    public let description: String
    public init(file: String, _ message: String) { description = "\(file): \(message)" }
}

/// The element types a state dict may hold, by their safetensors names.
public enum StoredDType: String, Sendable, CaseIterable {
    case float32 = "F32", float64 = "F64", float16 = "F16", bfloat16 = "BF16"
    case int64 = "I64", int32 = "I32", int16 = "I16", int8 = "I8", uint8 = "U8", bool = "BOOL"

    public var size: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    public var isFloatingPoint: Bool { [.float32, .float64, .float16, .bfloat16].contains(self) }
}

/// One tensor of a state dict: its type, shape and contiguous little-endian bytes.
public struct StoredTensor: Sendable {
    public let dtype: StoredDType
    public let shape: [Int]
    public let bytes: [UInt8]

    public init(dtype: StoredDType, shape: [Int], bytes: [UInt8]) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.size, "\(bytes.count) bytes for a \(dtype) tensor of shape \(shape)")
        (self.dtype, self.shape, self.bytes) = (dtype, shape, bytes)
    }

    public init(floats: [Float], shape: [Int]) {
        self.init(dtype: .float32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
    }

    public init(integers: [Int64], shape: [Int]) {
        self.init(dtype: .int64, shape: shape, bytes: integers.withUnsafeBytes { Array($0) })
    }

    public var count: Int { shape.reduce(1, *) }

    /// The values as float32, converted from any floating-point type.
    public func floats() -> [Float] {
        bytes.withUnsafeBytes { raw in
            switch dtype {
            case .float32: return Array(raw.bindMemory(to: Float.self))
            case .float64: return raw.bindMemory(to: Double.self).map { Float($0) }
            case .float16: return raw.bindMemory(to: UInt16.self).map { Float(Float16(bitPattern: UInt16(littleEndian: $0))) }
            case .bfloat16: return raw.bindMemory(to: UInt16.self).map { Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16) }
            case .int64: return raw.bindMemory(to: Int64.self).map { Float($0) }
            case .int32: return raw.bindMemory(to: Int32.self).map { Float($0) }
            case .int16: return raw.bindMemory(to: Int16.self).map { Float($0) }
            case .int8: return raw.bindMemory(to: Int8.self).map { Float($0) }
            case .uint8, .bool: return raw.map { Float($0) }
            }
        }
    }

    /// The values as 64-bit integers, for an integer type.
    public func integers() -> [Int64] {
        bytes.withUnsafeBytes { raw in
            switch dtype {
            case .int64: return Array(raw.bindMemory(to: Int64.self))
            case .int32: return raw.bindMemory(to: Int32.self).map { Int64($0) }
            case .int16: return raw.bindMemory(to: Int16.self).map { Int64($0) }
            case .int8: return raw.bindMemory(to: Int8.self).map { Int64($0) }
            case .uint8, .bool: return raw.map { Int64($0) }
            default: return floats().map { Int64($0) }
            }
        }
    }
}

/// A state dict: named tensors in file order.
public struct StateDictionary: Sendable {
    public var tensors: [(name: String, tensor: StoredTensor)]

    public init(_ tensors: [(name: String, tensor: StoredTensor)]) { self.tensors = tensors }

    public subscript(name: String) -> StoredTensor? { tensors.first { $0.name == name }?.tensor }

    /// Without DataParallel's `module.` prefix when every name has it.
    public func withoutDataParallelPrefix() -> (StateDictionary, stripped: Bool) {
        guard !tensors.isEmpty, tensors.allSatisfy({ $0.name.hasPrefix("module.") }) else { return (self, false) }
        return (StateDictionary(tensors.map { (String($0.name.dropFirst(7)), $0.tensor) }), true)
    }
}
