import Foundation

/// A value of a Python pickle, as data: nothing in it is ever called. Classes and functions
/// are only names (`global`); what a pickle would build by calling one is kept as the call
/// (`call`, `object`), for the reader to recognise the few it knows.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    case dict([(key: PickleValue, value: PickleValue)])
    case global(module: String, name: String)
    /// A persistent id (PyTorch's reference to a tensor storage).
    case persistent(PickleValue)
    /// An allowed callable applied to its arguments.
    case call(PickleValue, [PickleValue])
    /// An instance made without running its constructor (NEWOBJ), then given `state` (BUILD).
    case object(module: String, name: String, state: PickleValue?)

    public var string: String? { if case .string(let text) = self { text } else { nil } }
    public var int: Int64? { if case .int(let value) = self { value } else { nil } }
    public var items: [PickleValue]? {
        switch self {
        case .list(let items), .tuple(let items): items
        default: nil
        }
    }
    public var dictionary: [(key: PickleValue, value: PickleValue)]? { if case .dict(let entries) = self { entries } else { nil } }
}

public struct PickleError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

/// Reads a pickle (protocols 2 to 5, what torch.save writes) into a `PickleValue` without
/// running anything. Only the callables in `allowed` may be applied (REDUCE); any other is
/// refused by name, since a pickle that calls a function can do anything with it. Classes
/// instantiated without a call (NEWOBJ, as pickled modules are) become `object` values.
public struct RestrictedUnpickler {
    public let allowed: Set<String>
    /// Bounds against a hostile file: values on the stack and in the memo, and nesting.
    static let maximumValues = 10_000_000

    public init(allowed: Set<String>) { self.allowed = allowed }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0
        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw PickleError("ends early at byte \(offset)") }
            defer { offset += 1 }
            return bytes[offset]
        }
        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, count <= bytes.count - offset else { throw PickleError("ends early at byte \(offset) (\(count) bytes wanted)") }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }
        mutating func unsigned(_ size: Int) throws -> UInt64 {
            try take(size).reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        mutating func line() throws -> String {
            guard let end = bytes[offset...].firstIndex(of: 0x0A) else { throw PickleError("a text argument at byte \(offset) has no end") }
            defer { offset = end + 1 }
            return String(decoding: bytes[offset..<end], as: UTF8.self)
        }
    }

    private enum Item { case value(PickleValue), mark }

    public func load(_ bytes: [UInt8]) throws -> PickleValue {
        var reader = Reader(bytes: bytes)
        var stack: [Item] = []
        var memo: [Int: PickleValue] = [:]
        // The first class instantiated, to name in a refusal (a whole pickled module).
        var instantiated: String?
        func pop() throws -> PickleValue {
            guard case .value(let value)? = stack.popLast() else { throw PickleError("pops an empty stack or a mark at byte \(reader.offset)") }
            return value
        }
        func popToMark() throws -> [PickleValue] {
            guard let mark = stack.lastIndex(where: { if case .mark = $0 { true } else { false } }) else {
                throw PickleError("has no mark to pop to at byte \(reader.offset)")
            }
            let values = stack[(mark + 1)...].map { item -> PickleValue in if case .value(let value) = item { value } else { .none } }
            stack.removeSubrange(mark...)
            return values
        }
        func push(_ value: PickleValue) throws {
            guard stack.count < Self.maximumValues else { throw PickleError("holds more than \(Self.maximumValues) values") }
            stack.append(.value(value))
        }
        func text(_ slice: ArraySlice<UInt8>) throws -> String {
            guard let text = String(bytes: slice, encoding: .utf8) else { throw PickleError("holds text that is not UTF-8 at byte \(reader.offset)") }
            return text
        }
        func setItems(_ pairs: [PickleValue]) throws {
            guard case .dict(var entries) = try pop() else { throw PickleError("sets items of a value that is not a dict at byte \(reader.offset)") }
            for index in stride(from: 0, to: pairs.count - 1, by: 2) { entries.append((pairs[index], pairs[index + 1])) }
            try push(.dict(entries))
        }
        func append(_ values: [PickleValue]) throws {
            guard case .list(let items) = try pop() else { throw PickleError("appends to a value that is not a list at byte \(reader.offset)") }
            try push(.list(items + values))
        }

        while true {
            let at = reader.offset
            let opcode = try reader.byte()
            switch opcode {
            case 0x80: _ = try reader.byte()                                   // PROTO
            case 0x95: _ = try reader.take(8)                                  // FRAME
            case 0x2E: return try pop()                                        // STOP
            case 0x28: stack.append(.mark)                                     // MARK
            case 0x4E: try push(.none)                                         // NONE
            case 0x88: try push(.bool(true))                                   // NEWTRUE
            case 0x89: try push(.bool(false))                                  // NEWFALSE
            case 0x4A: try push(.int(Int64(Int32(bitPattern: UInt32(try reader.unsigned(4))))))  // BININT
            case 0x4B: try push(.int(Int64(try reader.byte())))                // BININT1
            case 0x4D: try push(.int(Int64(try reader.unsigned(2))))           // BININT2
            case 0x8A:                                                         // LONG1
                let count = Int(try reader.byte())
                guard count <= 8 else { throw PickleError("holds an integer of \(count) bytes at byte \(at), beyond 64 bits") }
                let raw = try reader.unsigned(count)
                let shift = UInt64(64 - 8 * count)
                try push(.int(count == 0 ? 0 : Int64(bitPattern: raw << shift) >> Int64(shift)))
            case 0x47: try push(.float(Double(bitPattern: try reader.take(8).reduce(0) { $0 << 8 | UInt64($1) })))  // BINFLOAT, big-endian
            case 0x58: try push(.string(try text(try reader.take(Int(try reader.unsigned(4))))))      // BINUNICODE
            case 0x8C: try push(.string(try text(try reader.take(Int(try reader.byte())))))          // SHORT_BINUNICODE
            case 0x8D: try push(.string(try text(try reader.take(Int(clamping: try reader.unsigned(8))))))  // BINUNICODE8
            case 0x54: try push(.string(try text(try reader.take(Int(try reader.unsigned(4))))))      // BINSTRING
            case 0x55: try push(.string(try text(try reader.take(Int(try reader.byte())))))          // SHORT_BINSTRING
            case 0x42: try push(.bytes(Array(try reader.take(Int(try reader.unsigned(4))))))          // BINBYTES
            case 0x43: try push(.bytes(Array(try reader.take(Int(try reader.byte())))))              // SHORT_BINBYTES
            case 0x8E: try push(.bytes(Array(try reader.take(Int(clamping: try reader.unsigned(8))))))  // BINBYTES8
            case 0x5D: try push(.list([]))                                     // EMPTY_LIST
            case 0x29: try push(.tuple([]))                                    // EMPTY_TUPLE
            case 0x7D: try push(.dict([]))                                     // EMPTY_DICT
            case 0x8F: try push(.list([]))                                     // EMPTY_SET, kept as a list
            case 0x6C: try push(.list(try popToMark()))                        // LIST
            case 0x74: try push(.tuple(try popToMark()))                       // TUPLE
            case 0x85: try push(.tuple([try pop()]))                           // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try push(.tuple([a, b]))                      // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(.tuple([a, b, c]))    // TUPLE3
            case 0x64:                                                         // DICT
                let pairs = try popToMark()
                try push(.dict(stride(from: 0, to: pairs.count - 1, by: 2).map { (pairs[$0], pairs[$0 + 1]) }))
            case 0x61: let value = try pop(); try append([value])              // APPEND
            case 0x65: let values = try popToMark(); try append(values)        // APPENDS
            case 0x90: let values = try popToMark(); try append(values)        // ADDITEMS (a set, as a list)
            case 0x73: let value = try pop(), key = try pop(); try setItems([key, value])  // SETITEM
            case 0x75: let pairs = try popToMark(); try setItems(pairs)        // SETITEMS
            case 0x30: _ = stack.popLast()                                     // POP
            case 0x31: _ = try popToMark()                                     // POP_MARK
            case 0x32: let top = try pop(); try push(top); try push(top)       // DUP
            case 0x71: memo[Int(try reader.byte())] = try peek(stack)          // BINPUT
            case 0x72: memo[Int(try reader.unsigned(4))] = try peek(stack)     // LONG_BINPUT
            case 0x94: memo[memo.count] = try peek(stack)                      // MEMOIZE
            case 0x68, 0x6A:                                                   // BINGET, LONG_BINGET
                let index = Int(opcode == 0x68 ? UInt64(try reader.byte()) : try reader.unsigned(4))
                guard let value = memo[index] else { throw PickleError("refers to memo entry \(index), never stored, at byte \(at)") }
                try push(value)
            case 0x63:                                                         // GLOBAL
                let module = try reader.line(), name = try reader.line()
                try push(.global(module: module, name: name))
            case 0x93:                                                         // STACK_GLOBAL
                guard let name = try pop().string, let module = try pop().string else { throw PickleError("names a global by non-text at byte \(at)") }
                try push(.global(module: module, name: name))
            case 0x51: try push(.persistent(try pop()))                        // BINPERSID
            case 0x52:                                                         // REDUCE
                let arguments = try pop(), callable = try pop()
                guard case .global(let module, let name) = callable else { throw PickleError("calls a value that is not a global at byte \(at)") }
                guard allowed.contains(module + "." + name) else {
                    throw PickleError("calls \(module).\(name), which a model file has no reason to call; refused (nothing in a file is run)"
                                      + (instantiated.map { "; it also holds a pickled \($0) object" } ?? ""))
                }
                switch (module, name) {
                // An OrderedDict is a dict here: its items follow (SETITEMS).
                case ("collections", "OrderedDict"): try push(.dict([]))
                // A set (a module's names of buffers kept out of its state dict) is its items.
                case (_, "set"): try push(arguments.items?.first ?? .list([]))
                default: try push(.call(callable, arguments.items ?? [arguments]))
                }
            case 0x81:                                                         // NEWOBJ
                _ = try pop()
                guard case .global(let module, let name) = try pop() else { throw PickleError("instantiates a value that is not a class at byte \(at)") }
                if instantiated == nil { instantiated = module + "." + name }
                try push(.object(module: module, name: name, state: nil))
            case 0x62:                                                         // BUILD
                let state = try pop()
                switch try pop() {
                case .object(let module, let name, _): try push(.object(module: module, name: name, state: state))
                // An allowed call given its state (an OrderedDict, a parameter with hooks) keeps its value.
                case let built: try push(built)
                }
            default:
                throw PickleError("uses pickle opcode 0x\(String(opcode, radix: 16)) at byte \(at), which a model file does not need")
            }
        }
    }

    private func peek(_ stack: [Item]) throws -> PickleValue {
        guard case .value(let value)? = stack.last else { throw PickleError("memoises an empty stack") }
        return value
    }
}
