import Foundation
import NeuralNetwork
import TensorEngine
import Training

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
            agreeing += zip(Evaluation.predictedClasses(probe.teacherLogits), Evaluation.predictedClasses(student)).map { $0 == $1 }
            divergence += divergenceSum(teacher: probe.teacherLogits.toArray(), student: student.toArray(), classes: student.shape[1])
        }
        let count = Double(max(agreeing.count, 1))
        return ProbeScore(agreement: 100 * Double(agreeing.filter { $0 }.count) / count, divergence: divergence / count, agreeing: agreeing)
    }

    /// Over rows of `classes` logits, the sum of the rows' KL(teacher || student), in double.
    static func divergenceSum(teacher: [Float], student: [Float], classes: Int) -> Double {
        (0..<(teacher.count / classes)).reduce(0) { sum, row in
            let rows = (row * classes)..<((row + 1) * classes)
            let logT = logSoftmax(teacher[rows].map(Double.init)), logS = logSoftmax(student[rows].map(Double.init))
            return sum + zip(logT, logS).reduce(0) { $0 + exp($1.0) * ($1.0 - $1.1) }
        }
    }

    private static func logSoftmax(_ x: [Double]) -> [Double] {
        let top = x.max() ?? 0
        let logSum = top + log(x.reduce(0) { $0 + exp($1 - top) })
        return x.map { $0 - logSum }
    }
}
