import TensorEngine

/// Every way a set of named values failed to fit a module, reported together.
public struct StateMismatch: Error, CustomStringConvertible {
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var sizeMismatches: [(name: String, found: Int, expected: [Int])] = []

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && sizeMismatches.isEmpty }

    public var description: String {
        var lines: [String] = []
        if !missing.isEmpty { lines.append("missing: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { lines.append("unexpected: \(unexpected.joined(separator: ", "))") }
        for m in sizeMismatches {
            lines.append("size mismatch for \(m.name): \(m.found) values given, the model has shape \(m.expected)")
        }
        return lines.joined(separator: "\n")
    }
}

extension Module {
    /// Float parameters and float buffers under their dotted names (counters excluded).
    public func namedFloatState() -> [(String, Tensor)] {
        namedParameters() + namedBuffers().compactMap { name, buffer in
            if case .tensor(let t, _) = buffer { return (name, t) }
            return nil
        }
    }

    /// Copies `values` (flat, row-major) into the parameters and float buffers of the same
    /// names. Checks everything first and throws every mismatch at once, changing nothing.
    public func loadFloatState(_ values: [String: [Float]], allowMissing: Bool = false) throws {
        let state = namedFloatState()
        var mismatch = StateMismatch()
        let known = Set(state.map(\.0))
        for (name, tensor) in state {
            guard let given = values[name] else {
                if !allowMissing { mismatch.missing.append(name) }
                continue
            }
            if given.count != tensor.count { mismatch.sizeMismatches.append((name, given.count, tensor.shape)) }
        }
        mismatch.unexpected = values.keys.filter { !known.contains($0) }.sorted()
        guard mismatch.isEmpty else { throw mismatch }
        for (name, tensor) in state {
            guard let given = values[name] else { continue }
            given.withUnsafeBufferPointer { tensor.pointer.update(from: $0.baseAddress!, count: given.count) }
        }
    }
}
