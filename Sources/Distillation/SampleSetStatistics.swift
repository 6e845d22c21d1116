import Foundation
import Storage

/// What a sample shard set holds, from its logits, labels and positions (not its images):
/// `dfkd inspect`'s summary of a set.
public struct SampleSetStatistics: Sendable {
    /// Samples per class: by conditional label, or for an unconditional generator's by the
    /// class of the stored teacher logits.
    public let perClass: [Int]
    /// Per class, the mean of the teacher's softmax probability of the sample's class (NaN
    /// for a class without samples).
    public let meanConfidence: [Double]
    /// For conditional samples, how often the teacher's class is the label.
    public let labelAgreement: Double?
    /// The kept iterations, each counted once per run.
    public let iterations: Int
    public let firstIteration: Int, lastIteration: Int
    /// Runs that wrote the set (their start times differ).
    public let runs: Int

    public init(_ set: SampleShardSet) throws {
        var perClass = [Int](repeating: 0, count: set.classes)
        var confidence = [Double](repeating: 0, count: set.classes)
        var agreeing = 0
        var kept = Set<String>()
        for shard in set.shards {
            let file = try HDF5Group.open(shard.path)
            for start in stride(from: 0, to: shard.rows, by: SampleShardSet.rowsPerBlock) {
                let rows = start..<min(shard.rows, start + SampleShardSet.rowsPerBlock)
                let logits = try file.readRows("logits", rows, as: Float.self)
                let predicted = SampleShardSet.predictedClasses(logits, classes: set.classes)
                let labels = shard.hasLabels ? try file.readRows("labels", rows, as: Int64.self).map(Int.init) : predicted
                for (row, label) in labels.enumerated() where (0..<set.classes).contains(label) {
                    let start = row * set.classes
                    let largest = logits[start..<(start + set.classes)].max()!
                    let total = logits[start..<(start + set.classes)].reduce(0.0) { $0 + exp(Double($1 - largest)) }
                    perClass[label] += 1
                    confidence[label] += exp(Double(logits[start + label] - largest)) / total
                    if predicted[row] == label { agreeing += 1 }
                }
                let (epochs, iterations) = (try file.readRows("epoch", rows, as: Int64.self), try file.readRows("iteration", rows, as: Int64.self))
                for (epoch, iteration) in zip(epochs, iterations) { kept.insert("\(shard.runStarted) \(shard.seed) \(epoch) \(iteration)") }
            }
        }
        self.perClass = perClass
        meanConfidence = zip(confidence, perClass).map { $1 == 0 ? .nan : $0 / Double($1) }
        labelAgreement = set.hasLabels && set.rows > 0 ? Double(agreeing) / Double(set.rows) : nil
        iterations = kept.count
        firstIteration = set.shards.map(\.firstIteration).min()!
        lastIteration = set.shards.map(\.lastIteration).max()!
        runs = Set(set.shards.map { "\($0.runStarted) \($0.seed)" }).count
    }
}
