import TensorEngine

/// Named arrays that together hold a training loop's whole state: the parameters and buffers
/// of its modules, its optimizers' moments, its counters and positions. Names are paths
/// (`student/conv1.weight`, `optimizers/student/exp_avg`); a checkpoint file stores each
/// entry as a dataset at its path, and the ranks of a job receive it as one message
/// (`encoded()`), so one description of the state serves files, resume and broadcast.
public struct StateArchive: Equatable, Sendable {
    public enum Values: Equatable, Sendable {
        case floats([Float])
        case doubles([Double])
        case integers([Int64])

        public var count: Int {
            switch self {
            case .floats(let v): v.count
            case .doubles(let v): v.count
            case .integers(let v): v.count
            }
        }

        /// Bit for bit, so that NaNs compare equal to themselves and -0 differs from 0.
        public static func == (a: Values, b: Values) -> Bool {
            switch (a, b) {
            case let (.floats(x), .floats(y)): x.map(\.bitPattern) == y.map(\.bitPattern)
            case let (.doubles(x), .doubles(y)): x.map(\.bitPattern) == y.map(\.bitPattern)
            case let (.integers(x), .integers(y)): x == y
            default: false
            }
        }

        public var typeName: String {
            switch self {
            case .floats: "float32"
            case .doubles: "float64"
            case .integers: "int64"
            }
        }
    }

    public struct Entry: Equatable, Sendable {
        public let name: String
        /// [] for a scalar.
        public let shape: [Int]
        public let values: Values
    }

    public private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]

    public init() {}

    public var names: [String] { entries.map(\.name) }

    public subscript(name: String) -> Entry? { index[name].map { entries[$0] } }

    public mutating func add(_ name: String, _ values: Values, shape: [Int]? = nil) {
        precondition(index[name] == nil, "state entry \(name) added twice")
        let shape = shape ?? [values.count]
        precondition(shape.reduce(1, *) == values.count, "\(values.count) values for shape \(shape) of \(name)")
        index[name] = entries.count
        entries.append(Entry(name: name, shape: shape, values: values))
    }

    public mutating func add(_ name: String, scalar value: Int) { add(name, .integers([Int64(value)]), shape: []) }
    public mutating func add(_ name: String, scalar value: Double) { add(name, .doubles([value]), shape: []) }

    /// The same entries, in any order.
    public static func == (a: StateArchive, b: StateArchive) -> Bool {
        a.entries.count == b.entries.count && a.entries.allSatisfy { b[$0.name] == $0 }
    }

    // MARK: Reading entries back

    /// The entry `name`, which must hold `count` values (any count when nil).
    public func entry(_ name: String, count: Int? = nil) throws -> Entry {
        guard let entry = self[name] else { throw StateArchiveError.missing(name) }
        if let count, entry.values.count != count {
            throw StateArchiveError.wrongCount(name, expected: count, found: entry.values.count)
        }
        return entry
    }

    public func floats(_ name: String, count: Int? = nil) throws -> [Float] {
        guard case .floats(let values) = try entry(name, count: count).values else { throw wrongType(name, "float32") }
        return values
    }

    public func doubles(_ name: String, count: Int? = nil) throws -> [Double] {
        guard case .doubles(let values) = try entry(name, count: count).values else { throw wrongType(name, "float64") }
        return values
    }

    public func integers(_ name: String, count: Int? = nil) throws -> [Int64] {
        guard case .integers(let values) = try entry(name, count: count).values else { throw wrongType(name, "int64") }
        return values
    }

    public func integer(_ name: String) throws -> Int { Int(try integers(name, count: 1)[0]) }
    public func double(_ name: String) throws -> Double { try doubles(name, count: 1)[0] }

    /// The last path component of every entry directly under `group/`.
    public func members(of group: String) -> [String] {
        let prefix = group + "/"
        return names.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }.map { String($0.dropFirst(prefix.count)) }
    }

    private func wrongType(_ name: String, _ expected: String) -> StateArchiveError {
        .wrongType(name, expected: expected, found: self[name]?.values.typeName ?? "nothing")
    }
}

public enum StateArchiveError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case wrongCount(String, expected: Int, found: Int)
    case wrongType(String, expected: String, found: String)
    case mismatch(String, [String])
    case undecodable(String)

    public var description: String {
        switch self {
        case .missing(let name): "missing dataset \(name)"
        case let .wrongCount(name, expected, found): "dataset \(name) holds \(found) values, expected \(expected)"
        case let .wrongType(name, expected, found): "dataset \(name) holds \(found), expected \(expected)"
        case let .mismatch(group, problems): "\(group) does not fit the model: " + problems.joined(separator: "; ")
        case .undecodable(let why): "the state message cannot be decoded: \(why)"
        }
    }
}

extension Module {
    /// Every parameter and buffer of the tree under `group/` (float tensors in their shapes,
    /// counters as int64 scalars), under their state_dict names.
    public func archive(into archive: inout StateArchive, group: String) {
        for (name, tensor) in namedFloatState() { archive.add(group + "/" + name, .floats(tensor.toArray()), shape: tensor.shape) }
        for (name, buffer) in namedBuffers() {
            if case .counter(let counter) = buffer { archive.add(group + "/" + name, scalar: counter.value) }
        }
    }

    /// Loads what `archive(into:group:)` stored; checks every entry first and changes
    /// nothing unless all fit, reporting every missing, unexpected or misshapen one.
    public func restore(from archive: StateArchive, group: String) throws {
        var problems: [String] = []
        var floats: [(Tensor, [Float])] = [], counters: [(Counter, Int)] = []
        var expected = Set<String>()
        for (name, tensor) in namedFloatState() {
            let path = group + "/" + name
            expected.insert(name)
            guard let entry = archive[path] else { problems.append("missing dataset \(path) (shape \(tensor.shape))"); continue }
            guard case .floats(let values) = entry.values else {
                problems.append("\(path) holds \(entry.values.typeName), the model expects float32 \(tensor.shape)")
                continue
            }
            guard entry.shape == tensor.shape else {
                problems.append("\(path) has shape \(entry.shape), the model expects \(tensor.shape)")
                continue
            }
            floats.append((tensor, values))
        }
        for (name, buffer) in namedBuffers() {
            guard case .counter(let counter) = buffer else { continue }
            let path = group + "/" + name
            expected.insert(name)
            guard let entry = archive[path] else { problems.append("missing dataset \(path) (int64 scalar)"); continue }
            guard case .integers(let values) = entry.values, values.count == 1 else {
                problems.append("\(path) holds \(entry.values.typeName) \(entry.shape), the model expects an int64 scalar")
                continue
            }
            counters.append((counter, Int(values[0])))
        }
        for name in archive.members(of: group) where !expected.contains(name) { problems.append("unexpected dataset \(group)/\(name)") }
        guard problems.isEmpty else { throw StateArchiveError.mismatch(group, problems) }
        for (tensor, values) in floats { values.withUnsafeBufferPointer { tensor.pointer.update(from: $0.baseAddress!, count: values.count) } }
        for (counter, value) in counters { counter.value = value }
    }
}
