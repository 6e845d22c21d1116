import NeuralNetwork
import TensorEngine

/// Generated images the student never trains on, kept from several of the generator's states
/// with the teacher's logits on them: what a run without real data measures its students
/// against. Each epoch's generator draws one probe (its own noise, from a stream no training
/// draw uses, `images` images spread evenly over the classes); the bank keeps `capacity` of
/// them by reservoir sampling, so that it is a uniform sample of every state so far rather
/// than of the last few, which the newest student has fitted best.
public final class ProbeBank {
    /// One generator state's probe.
    public struct Probe {
        /// The epoch (counted from 1) after which the generator drew it.
        public let epoch: Int
        /// N x C x H x W, in the teacher's normalised input space.
        public let images: Tensor
        /// The labels the images were drawn for; nil for an unconditional generator.
        public let requested: [Int]?
        /// N x K.
        public let teacherLogits: Tensor

        public init(epoch: Int, images: Tensor, requested: [Int]?, teacherLogits: Tensor) {
            (self.epoch, self.images, self.requested, self.teacherLogits) = (epoch, images, requested, teacherLogits)
        }
    }

    public let capacity: Int
    /// Images per probe.
    public let imageCount: Int
    private let seed: UInt64
    public private(set) var probes: [Probe] = []
    /// Generator states offered so far.
    public private(set) var offered = 0

    public init(capacity: Int, images: Int, seed: UInt64) {
        precondition(capacity > 0 && images > 0, "a probe bank needs room for at least one image")
        self.capacity = capacity
        imageCount = images
        self.seed = seed
    }

    /// The images of every kept probe, in one batch, and the teacher's logits on them.
    public var images: Tensor { Tensor.concatenate(probes.map(\.images), axis: 0) }
    public var teacherLogits: Tensor { Tensor.concatenate(probes.map(\.teacherLogits), axis: 0) }

    /// Draws the probe of the generator's present state (after epoch `epoch`, counted from 1)
    /// and offers it to the bank; returns it, kept or not. Deterministic in the seed and the
    /// epoch: the same run keeps the same probes on any number of ranks.
    @discardableResult
    public func offer(_ generator: Generator, teacher: any Classifier, epoch: Int) -> Probe {
        let probe = Self.probe(of: generator, teacher: teacher, count: imageCount, seed: seed, epoch: epoch)
        offered += 1
        if let position = Self.slot(forState: offered, capacity: capacity, seed: seed, epoch: epoch) {
            if position == probes.count { probes.append(probe) } else { probes[position] = probe }
        }
        return probe
    }

    /// Where the `state`-th state offered (counted from 1) goes, nil when it is not kept
    /// (Algorithm R): the first `capacity` fill the slots; the n-th after them replaces a
    /// uniformly chosen slot with probability capacity / n, so every state so far is kept
    /// with the same probability.
    public static func slot(forState state: Int, capacity: Int, seed: UInt64, epoch: Int) -> Int? {
        if state <= capacity { return state - 1 }
        let position = min(Int(Double(Philox(seed: seed, name: "probe-slot-\(epoch)").uniform(count: 1)[0]) * Double(state)), state - 1)
        return position < capacity ? position : nil
    }

    /// The probe of the generator's present state after epoch `epoch`: `count` images spread
    /// evenly over the classes, from noise keyed by the seed and the epoch alone.
    public static func probe(of generator: Generator, teacher: any Classifier, count: Int, seed: UInt64, epoch: Int) -> Probe {
        let random = Philox(seed: seed, name: "probe-\(epoch)")
        let classes = generator.shape.classes
        let z = Tensor(shape: [count, generator.shape.noise], values: random.normal(count: count * generator.shape.noise))
        let requested = (0..<count).map { $0 % classes }
        let images = generator.drawAside(z, labels: requested)
        let logits = RankLocalPass.run { withoutGradient { teacher(images) } }
        return Probe(epoch: epoch, images: images, requested: generator.isConditional ? requested : nil, teacherLogits: logits)
    }

    // MARK: State

    /// Each kept probe under `group/NNNN/` (its position), and the count of states offered.
    public func archive(into archive: inout StateArchive, group: String) {
        archive.add(group + "/offered", scalar: offered)
        for (position, probe) in probes.enumerated() {
            let slot = group + "/" + String(format: "%04d", position)
            archive.add(slot + "/epoch", scalar: probe.epoch)
            archive.add(slot + "/images", .floats(probe.images.toArray()), shape: probe.images.shape)
            archive.add(slot + "/teacher_logits", .floats(probe.teacherLogits.toArray()), shape: probe.teacherLogits.shape)
            if let requested = probe.requested { archive.add(slot + "/requested", .integers(requested.map(Int64.init))) }
        }
    }

    /// Restores what `archive(into:group:)` stored.
    public func restore(from archive: StateArchive, group: String) throws {
        offered = try archive.integer(group + "/offered")
        var slots: [String] = []
        while archive[group + String(format: "/%04d/epoch", slots.count)] != nil { slots.append(group + String(format: "/%04d", slots.count)) }
        probes = try slots.map { slot in
            let images = try archive.entry(slot + "/images"), logits = try archive.entry(slot + "/teacher_logits")
            return Probe(epoch: try archive.integer(slot + "/epoch"),
                         images: Tensor(shape: images.shape, values: try archive.floats(slot + "/images")),
                         requested: archive[slot + "/requested"] == nil ? nil : try archive.integers(slot + "/requested").map { Int($0) },
                         teacherLogits: Tensor(shape: logits.shape, values: try archive.floats(slot + "/teacher_logits")))
        }
        guard probes.count <= capacity else {
            throw StateArchiveError.mismatch(group, ["\(probes.count) probes kept, this run keeps at most \(capacity)"])
        }
    }
}
