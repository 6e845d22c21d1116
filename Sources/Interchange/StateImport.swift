import NeuralNetwork

/// Copies a state dict into a model: every parameter and float buffer from a floating-point
/// tensor of its exact shape, every counter (`num_batches_tracked`) from an integer scalar.
/// Everything is checked first; every missing and unexpected name and every wrong shape and
/// type is listed in one error, and a mismatch changes nothing.
public enum StateImport {
    public static func load(_ state: StateDictionary, into model: Module, file: String) throws {
        let floats = model.namedFloatState()
        let counters = model.namedBuffers().compactMap { name, buffer -> (String, Counter)? in
            if case .counter(let counter) = buffer { return (name, counter) }
            return nil
        }
        let given = Dictionary(state.tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
        var missing: [String] = [], wrong: [String] = []
        for (name, tensor) in floats {
            guard let stored = given[name] else { missing.append(name); continue }
            if stored.shape != tensor.shape { wrong.append("\(name): shape \(stored.shape), the model has \(tensor.shape)") }
            if !stored.dtype.isFloatingPoint { wrong.append("\(name): type \(stored.dtype.rawValue), expected a floating-point type") }
        }
        for (name, _) in counters {
            guard let stored = given[name] else { missing.append(name); continue }
            if stored.count != 1 { wrong.append("\(name): shape \(stored.shape), the model has a scalar") }
            if stored.dtype.isFloatingPoint { wrong.append("\(name): type \(stored.dtype.rawValue), expected an integer type") }
        }
        let known = Set(floats.map(\.0) + counters.map(\.0))
        let unexpected = state.tensors.map(\.name).filter { !known.contains($0) }
        guard missing.isEmpty && unexpected.isEmpty && wrong.isEmpty else {
            var lines: [String] = []
            if !missing.isEmpty { lines.append("missing (\(missing.count)): " + missing.joined(separator: ", ")) }
            if !unexpected.isEmpty { lines.append("unexpected (\(unexpected.count)): " + unexpected.joined(separator: ", ")) }
            // A wrong architecture mis-fits nearly every tensor: the first few tell it.
            lines += wrong.prefix(20) + (wrong.count > 20 ? ["and \(wrong.count - 20) more of wrong shape or type"] : [])
            throw InterchangeError(file: file, "does not fit the architecture:\n  " + lines.joined(separator: "\n  "))
        }
        for (name, tensor) in floats {
            let values = given[name]!.floats()
            values.withUnsafeBufferPointer { tensor.pointer.update(from: $0.baseAddress!, count: values.count) }
        }
        for (name, counter) in counters { counter.value = Int(given[name]!.integers()[0]) }
    }
}
