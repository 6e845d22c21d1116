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

    /// The whole state as flat buffers plus the step count, for checkpoints.
    public var flatState: (step: Int, buffers: [String: [Float]]) { (stepCount, buffers.mapValues { $0.toArray() }) }

    /// Restores what `flatState` returned; every buffer must match the parameter block.
    public func restore(step: Int, buffers: [String: [Float]]) throws {
        for (name, buffer) in buffers where buffer.count != parameters.count {
            throw OptimizerStateError.sizeMismatch(buffer: name, expected: parameters.count, found: buffer.count)
        }
        stepCount = step
        self.buffers = buffers.mapValues { Tensor(shape: [$0.count], values: $0) }
    }

    func buffer(_ name: String) -> UnsafeMutablePointer<Float> {
        if let existing = buffers[name] { return existing.pointer }
        let fresh = Tensor.zeros([parameters.count])
        buffers[name] = fresh
        return fresh.pointer
    }
}

public enum OptimizerStateError: Error, CustomStringConvertible {
    case sizeMismatch(buffer: String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case let .sizeMismatch(buffer, expected, found):
            "optimizer state '\(buffer)' has \(found) values, the parameters have \(expected)"
        }
    }
}
