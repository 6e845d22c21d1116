import NeuralNetwork
import TensorEngine
import Foundation

/// How closely a student follows the teacher on a probe bank: what a run without real data
/// can know of its students.
public struct ProbeScore: Equatable, Sendable {
    /// Percent of the probe images whose arg-max class is the teacher's.
    public var agreement: Double
    /// The mean over the probe images of KL(teacher || student) at temperature 1, in nats:
    /// finer than agreement where the two agree on nearly every image.
    public var divergence: Double
    /// Per probe image, in the bank's order: whether the arg-maxes agree (empty when restored
    /// from a checkpoint).
    public var agreeing: [Bool] = []

    public init(agreement: Double, divergence: Double, agreeing: [Bool] = []) {
        (self.agreement, self.divergence, self.agreeing) = (agreement, divergence, agreeing)
    }

    /// `model` (switched to evaluation mode and back) on every probe of `bank`, on this rank alone.
    public static func of(_ model: any Classifier, on bank: ProbeBank) -> ProbeScore {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var agreeing: [Bool] = [], divergence = 0.0
        for probe in bank.probes {
            let student = RankLocalPass.run { withoutGradient { model(probe.images) } }
            let (a, d) = compare(teacher: probe.teacherLogits.toArray(), student: student.toArray(), classes: student.shape[1])
            agreeing += a
            divergence += d
        }
        let count = Double(max(agreeing.count, 1))
        return ProbeScore(agreement: 100 * Double(agreeing.filter { $0 }.count) / count, divergence: divergence / count, agreeing: agreeing)
    }

    /// Over rows of `classes` logits: whether each row's arg-maxes agree, and the sum of the rows' KL divergences.
    static func compare(teacher: [Float], student: [Float], classes: Int) -> (agreeing: [Bool], divergence: Double) {
        var agreeing: [Bool] = [], divergence = 0.0
        for row in 0..<(teacher.count / classes) {
            let t = teacher[(row * classes)..<((row + 1) * classes)].map(Double.init)
            let s = student[(row * classes)..<((row + 1) * classes)].map(Double.init)
            agreeing.append(t.indices.max(by: { t[$0] < t[$1] }) == s.indices.max(by: { s[$0] < s[$1] }))
            let logT = logSoftmax(t), logS = logSoftmax(s)
            divergence += zip(logT, logS).reduce(0) { $0 + exp($1.0) * ($1.0 - $1.1) }
        }
        return (agreeing, divergence)
    }

    private static func logSoftmax(_ x: [Double]) -> [Double] {
        let top = x.max() ?? 0
        let logSum = top + log(x.reduce(0) { $0 + exp($1 - top) })
        return x.map { $0 - logSum }
    }
}
