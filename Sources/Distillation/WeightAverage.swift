import NeuralNetwork
import TensorEngine

/// An exponential moving average of a model's parameters and running statistics, kept in a
/// second instance of its architecture (Polyak averaging, as timm's and TensorFlow's model
/// EMA). A data-free student trains against a generator that keeps moving, so its weights
/// swing from step to step; the average follows their trend over the last 1 / (1 - decay)
/// steps and is the student a run evaluates and saves. Every rank averages the same weights,
/// so the averages stay identical without communication.
public final class WeightAverage {
    /// The averaged model; in evaluation mode whenever it is used.
    public let model: any Classifier
    public let decay: Float
    /// Updates so far (student optimizer steps).
    public private(set) var updates = 0
    private let pairs: [(source: Tensor, average: Tensor)]
    private let counters: [(source: Counter, average: Counter)]

    /// Averages `source` into `average`, a fresh instance of the same architecture, which
    /// starts as a copy of `source`.
    public init(of source: any Classifier, into average: any Classifier, decay: Float) {
        precondition(decay > 0 && decay < 1, "the weight average's decay must lie in (0, 1)")
        let averageState = Dictionary(uniqueKeysWithValues: average.namedFloatState())
        pairs = source.namedFloatState().map { name, tensor in
            guard let twin = averageState[name], twin.shape == tensor.shape else {
                preconditionFailure("the averaged model has no \(name) of shape \(tensor.shape): it is not the source's architecture")
            }
            return (tensor, twin)
        }
        precondition(pairs.count == averageState.count, "the averaged model has state the source has not")
        let averageCounters = Dictionary(uniqueKeysWithValues: average.namedBuffers().compactMap { name, buffer -> (String, Counter)? in
            if case .counter(let counter) = buffer { return (name, counter) }
            return nil
        })
        counters = source.namedBuffers().compactMap { name, buffer in
            if case .counter(let counter) = buffer, let twin = averageCounters[name] { return (counter, twin) }
            return nil
        }
        model = average
        self.decay = decay
        average.freeze()
        average.eval()
        for (source, average) in pairs { average.pointer.update(from: source.pointer, count: source.count) }
        copyCounters()
    }

    /// The weight of the average in the next update: it grows towards `decay`, so that the
    /// first updates are not held back by the initial weights for 1 / (1 - decay) steps.
    public var nextDecay: Float { min(decay, Float(1 + updates) / Float(10 + updates)) }

    /// Moves the average towards the source's present weights; call after each optimizer step.
    public func update() {
        let d = nextDecay, s = 1 - d
        for (source, average) in pairs {
            let from = source.pointer, to = average.pointer
            for i in 0..<source.count { to[i] = d * to[i] + s * from[i] }
        }
        copyCounters()
        updates += 1
    }

    /// The batch norms' counts of batches seen are not averaged: they follow the source.
    private func copyCounters() {
        for (source, average) in counters { average.value = source.value }
    }

    /// The averaged model under `group/model`, the update count under `group/updates`.
    public func archive(into archive: inout StateArchive, group: String) {
        model.archive(into: &archive, group: group + "/model")
        archive.add(group + "/updates", scalar: updates)
    }

    public func restore(from archive: StateArchive, group: String) throws {
        try model.restore(from: archive, group: group + "/model")
        updates = try archive.integer(group + "/updates")
    }
}
