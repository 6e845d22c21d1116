import Data
import Distributed
import NeuralNetwork
import TensorEngine

/// Accuracy of a classifier on a set: top-1, per class, the confusion matrix, and (given a
/// teacher) how often the two agree.
public struct EvaluationResult: Sendable {
    /// confusion[true class][predicted class]
    public let confusion: [[Int]]
    /// Images where the teacher's prediction equals the model's, if a teacher was given.
    public let agreement: Double?
    public let teacherTop1: Double?

    public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
    /// Percent.
    public var top1: Double { 100 * Double((0..<confusion.count).reduce(0) { $0 + confusion[$1][$1] }) / Double(max(count, 1)) }
    /// Percent per class (nan where the class has no image).
    public var perClass: [Double] {
        confusion.enumerated().map { index, row in
            let total = row.reduce(0, +)
            return total == 0 ? .nan : 100 * Double(row[index]) / Double(total)
        }
    }
}

public enum Evaluation {
    /// Evaluates `model` (switched to eval mode and back) on every image of `set`. Over
    /// several ranks each evaluates its share of every batch and the counts are summed, so
    /// every rank returns the result for the whole set.
    public static func run(_ model: any Classifier, on set: ImageSet, normalization: Normalization, batchSize: Int = 256,
                           teacher: (any Classifier)? = nil, communicator: Communicator = SingleProcess()) -> EvaluationResult {
        let wasTraining = model.isTraining, teacherWasTraining = teacher?.isTraining ?? false
        model.eval()
        teacher?.eval()
        defer {
            model.train(wasTraining)
            teacher?.train(teacherWasTraining)
        }
        let source = BatchSource(set, batchSize: batchSize, normalization: normalization, training: false)
        let order = source.order(epoch: 0)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: set.classes), count: set.classes)
        var agree = 0, teacherCorrect = 0
        withoutGradient {
            for index in 0..<source.batchesPerEpoch {
                let rows = communicator.share(of: min(batchSize, set.count - index * batchSize))
                guard !rows.isEmpty else { continue }
                let batch = source.batch(index, epoch: 0, order: order, rows: rows)
                let predictions = predictedClasses(model(batch.images))
                let teacherPredictions = teacher.map { predictedClasses($0(batch.images)) }
                for (i, label) in batch.labels.enumerated() {
                    confusion[label][predictions[i]] += 1
                    if let teacherPredictions {
                        if teacherPredictions[i] == predictions[i] { agree += 1 }
                        if teacherPredictions[i] == label { teacherCorrect += 1 }
                    }
                }
            }
        }
        // One message: the confusion matrix, then the two agreement counts.
        var counts = confusion.flatMap { $0.map(Double.init) } + [Double(agree), Double(teacherCorrect)]
        communicator.allReduceSum(&counts)
        confusion = (0..<set.classes).map { row in (0..<set.classes).map { Int(counts[row * set.classes + $0]) } }
        (agree, teacherCorrect) = (Int(counts[counts.count - 2]), Int(counts[counts.count - 1]))
        let n = Double(max(set.count, 1))
        return EvaluationResult(confusion: confusion, agreement: teacher == nil ? nil : 100 * Double(agree) / n,
                                teacherTop1: teacher == nil ? nil : 100 * Double(teacherCorrect) / n)
    }

    /// The arg-max class of each row of N x K logits.
    public static func predictedClasses(_ logits: Tensor) -> [Int] {
        let values = logits.toArray()
        let classes = logits.shape[1]
        return (0..<logits.shape[0]).map { row in
            var best = 0
            for k in 1..<classes where values[row * classes + k] > values[row * classes + best] { best = k }
            return best
        }
    }
}
