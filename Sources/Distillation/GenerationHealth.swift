import TensorEngine
import Training

/// What the teacher sees in a generator's images, class by class, and the classes that
/// collapsed: found without real images, so that a data-free user learns whether a run went
/// well. Measured on one probe (one generator state).
public struct GenerationHealth: Sendable {
    /// Why a class counts as collapsed.
    public enum Collapse: String, Sendable {
        /// The teacher puts under a fifth of an even share of the images in it.
        case rare
        /// Under a fifth of a conditional generator's images drawn for it are of it for the teacher
        /// (a healthy class measured 40-90%).
        case unrecognised
        /// Its images are flat: their pixels barely vary within an image.
        case flat
        /// Its images are nearly all one image.
        case single
    }

    /// Percent of the images the teacher classes in each class (its arg-max).
    public let shares: [Double]
    /// Per class, percent of the images drawn for it that the teacher classes in it (nil for
    /// an unconditional generator).
    public let recognised: [Double]?
    /// Per class, the median over its images of the standard deviation of an image's pixels, in
    /// the teacher's normalised input space (a real image's is about 1; nan for a class without images).
    public let contrast: [Double]
    /// Per class, `WithinClassDiversity` of its images (nan for a class with fewer than two).
    public let diversity: [Double]
    /// The collapsed classes and why, in class order.
    public let collapsed: [(classIndex: Int, reasons: [Collapse])]

    /// The limits below which a class counts as collapsed, chosen on generated images and the
    /// teacher's outputs alone (no real image): in a healthy Fashion-MNIST run (the batch-norm
    /// LeNet pair) every class's share was 5-17%, recognised 40-90%, contrast 0.2-1.3; in a
    /// collapsing one (LeNet-5 without batch norm) the lost classes showed shares under 1%,
    /// recognised 0%, contrast 0.003-0.03 and diversity 0.006-0.07.
    public static let rareShare = 0.2, recognisedPercent = 20.0, flatContrast = 0.1, singleDiversity = 0.1
    /// Images a class the probe needs for the rare and unrecognised judgements (`probe-images`
    /// at least this many times the classes): at 10, a class the teacher sees in half its images
    /// falls under 20% with probability 5%.
    public static let imagesToCount = 10

    /// More than half the classes collapsed: the generator as a whole did.
    public var generatorCollapsed: Bool { 2 * collapsed.count > shares.count }

    public init(_ probe: ProbeBank.Probe) {
        let classes = probe.teacherLogits.shape[1]
        let predicted = Evaluation.predictedClasses(probe.teacherLogits)
        let count = Double(max(predicted.count, 1))
        shares = (0..<classes).map { c in 100 * Double(predicted.filter { $0 == c }.count) / count }
        // A conditional generator's class is the one it was asked for; an unconditional one's, the teacher's.
        let rows = probe.requested ?? predicted
        recognised = probe.requested.map { requested in
            (0..<classes).map { c in
                let drawn = requested.indices.filter { requested[$0] == c }
                return drawn.isEmpty ? .nan : 100 * Double(drawn.filter { predicted[$0] == c }.count) / Double(drawn.count)
            }
        }
        let perImage = Self.imageContrast(probe.images)
        contrast = (0..<classes).map { c in Self.median(rows.indices.filter { rows[$0] == c }.map { perImage[$0] }) }
        let byClass = WithinClassDiversity.byClass(probe.images, labels: rows)
        diversity = (0..<classes).map { byClass[$0] ?? .nan }
        var collapsed: [(Int, [Collapse])] = []
        // With fewer images a class than this, a healthy class's count could fall under the limits by chance.
        let counted = predicted.count >= Self.imagesToCount * classes
        for c in 0..<classes {
            var reasons: [Collapse] = []
            if counted && shares[c] < Self.rareShare * 100 / Double(classes) { reasons.append(.rare) }
            if counted, let recognised, recognised[c] < Self.recognisedPercent { reasons.append(.unrecognised) }
            if contrast[c] < Self.flatContrast { reasons.append(.flat) }
            if diversity[c] < Self.singleDiversity { reasons.append(.single) }
            if !reasons.isEmpty { collapsed.append((c, reasons)) }
        }
        self.collapsed = collapsed
    }

    /// Each image's standard deviation over its pixels (all channels).
    static func imageContrast(_ images: Tensor) -> [Double] {
        let values = images.toArray(), pixels = images.count / max(images.shape[0], 1)
        return (0..<images.shape[0]).map { i in
            var sum = 0.0, squares = 0.0
            for p in 0..<pixels {
                let v = Double(values[i * pixels + p])
                sum += v
                squares += v * v
            }
            let mean = sum / Double(pixels)
            return max(squares / Double(pixels) - mean * mean, 0).squareRoot()
        }
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// One line naming the collapsed classes and why, or nil when none did.
    public var warning: String? {
        guard !collapsed.isEmpty else { return nil }
        let named = collapsed.map { "\($0.classIndex) (\($0.reasons.map(\.rawValue).joined(separator: ", ")))" }.joined(separator: ", ")
        return (generatorCollapsed ? "the generator collapsed: " : "") + "collapsed class\(collapsed.count == 1 ? "" : "es") \(named)"
    }

    /// The fields of the metrics and the JSON summary.
    public var fields: [String: Any] {
        var fields: [String: Any] = [
            "probe_class_shares": shares,
            "probe_class_contrast": contrast,
            "probe_class_diversity": diversity,
            "collapsed_classes": collapsed.map(\.classIndex),
            "collapsed_reasons": Dictionary(uniqueKeysWithValues: collapsed.map { ("\($0.classIndex)", $0.reasons.map(\.rawValue)) }),
            "generator_collapsed": generatorCollapsed,
        ]
        fields["probe_class_recognised"] = recognised
        return fields
    }
}
