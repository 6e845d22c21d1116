import NeuralNetwork

/// A model's state as PyTorch's `state_dict()` lists it: module by module in registration
/// order, each module's parameters, then its buffers (float32; counters as int64 scalars).
public enum StateExport {
    public static func stateDictionary(of model: Module) -> StateDictionary {
        var values: [String: StoredTensor] = [:]
        for (name, tensor) in model.namedFloatState() { values[name] = StoredTensor(floats: tensor.toArray(), shape: tensor.shape) }
        for (name, buffer) in model.namedBuffers() {
            if case .counter(let counter) = buffer { values[name] = StoredTensor(integers: [Int64(counter.value)], shape: []) }
        }
        let parameters = model.namedParameters().map(\.0), buffers = model.namedBuffers().map(\.0)
        var ordered: [(name: String, tensor: StoredTensor)] = []
        for (path, _) in model.namedModules() {
            let prefix = path.isEmpty ? "" : path + "."
            // The module's own entries: the prefix followed by a name without a dot.
            let own = { (name: String) in name.hasPrefix(prefix) && !name.dropFirst(prefix.count).contains(".") }
            for name in parameters.filter(own) + buffers.filter(own) { ordered.append((name, values[name]!)) }
        }
        return StateDictionary(ordered)
    }
}
