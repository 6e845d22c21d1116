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

    /// `model` (switched to evaluation mode and back) on every probe of `bank`, on this rank alone.
    public static func of(_ model: any Classifier, on bank: ProbeBank) -> ProbeScore {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var agreeing = 0, count = 0, divergence = 0.0
        for probe in bank.probes {
            let student = RankLocalPass.run { withoutGradient { model(probe.images) } }
            let (a, d) = compare(teacher: probe.teacherLogits.toArray(), student: student.toArray(), classes: student.shape[1])
            agreeing += a
            divergence += d
            count += student.shape[0]
        }
        return ProbeScore(agreement: 100 * Double(agreeing) / Double(max(count, 1)), divergence: divergence / Double(max(count, 1)))
    }

    /// Over rows of `classes` logits: how many rows' arg-maxes agree, and the sum of the rows' KL divergences.
    static func compare(teacher: [Float], student: [Float], classes: Int) -> (agreeing: Int, divergence: Double) {
        var agreeing = 0, divergence = 0.0
        for row in 0..<(teacher.count / classes) {
            let t = teacher[(row * classes)..<((row + 1) * classes)].map(Double.init)
            let s = student[(row * classes)..<((row + 1) * classes)].map(Double.init)
            if t.indices.max(by: { t[$0] < t[$1] }) == s.indices.max(by: { s[$0] < s[$1] }) { agreeing += 1 }
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
