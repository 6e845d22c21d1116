import TensorEngine

/// An optimizer over one flat parameter block. Its state is a set of named flat buffers
/// (`momentum_buffer`, `exp_avg`, ...) plus a step count, all inspectable and restorable.
/// A parameter that received no gradient since the last zeroing is skipped, as PyTorch
/// skips parameters whose .grad is None.
public class Optimizer {
    public let parameters: FlatParameters
    public var learningRate: Float
    public private(set) var stepCount = 0
    var buffers: [String: Tensor] = [:]

    init(parameters: FlatParameters, learningRate: Float) {
        self.parameters = parameters
        self.learningRate = learningRate
    }

    public convenience init(module: Module, learningRate: Float) {
        self.init(parameters: FlatParameters(module.namedParameters()), learningRate: learningRate)
    }

    public func zeroGradients() { parameters.zeroGradients() }

    public func step() {
        stepCount += 1
        let values = parameters.valueBuffer, gradients = parameters.gradientBuffer
        for entry in parameters.entries where entry.tensor.receivedGradient {
            update(range: entry.offset..<(entry.offset + entry.count), values: values.baseAddress!, gradients: gradients.baseAddress!)
        }
    }

    func update(range: Range<Int>, values: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        fatalError("subclasses implement update")
    }

    /// Per-parameter state under `name.buffer` (PyTorch's optimizer state names).
    public var state: [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (bufferName, buffer) in buffers {
            for entry in parameters.entries {
                out[entry.name + "." + bufferName] = Array(UnsafeBufferPointer(start: buffer.pointer + entry.offset, count: entry.count))
            }
        }
        return out
    }

    /// The names of the flat buffers this optimizer keeps (made at its first step).
    class var bufferNames: [String] { [] }

    /// The step count (`step`) and every flat buffer under `group/`, in the parameter block's
    /// order, for checkpoints.
    public func archive(into archive: inout StateArchive, group: String) {
        archive.add(group + "/step", scalar: stepCount)
        for name in buffers.keys.sorted() { archive.add(group + "/" + name, .floats(buffers[name]!.toArray())) }
    }

    /// Restores what `archive(into:group:)` stored: a buffer of another optimizer or of
    /// another parameter count is an error naming it, and nothing changes.
    public func restore(from archive: StateArchive, group: String) throws {
        let step = try archive.integer(group + "/step")
        var restored: [String: Tensor] = [:]
        for name in archive.members(of: group) where name != "step" && !Self.extraEntries.contains(name) {
            guard Self.bufferNames.contains(name) else {
                throw StateArchiveError.mismatch(group, ["unexpected \(group)/\(name): \(type(of: self)) keeps \(Self.bufferNames.joined(separator: ", "))"])
            }
            restored[name] = Tensor(shape: [parameters.count], values: try archive.floats(group + "/" + name, count: parameters.count))
        }
        try restoreExtra(from: archive, group: group)
        stepCount = step
        buffers = restored
    }

    /// Entries besides `step` and the buffers that a subclass archives.
    class var extraEntries: [String] { [] }
    func restoreExtra(from archive: StateArchive, group: String) throws {}

    func buffer(_ name: String) -> UnsafeMutablePointer<Float> {
        if let existing = buffers[name] { return existing.pointer }
        let fresh = Tensor.zeros([parameters.count])
        buffers[name] = fresh
        return fresh.pointer
    }
}

