import Data
import NeuralNetwork
import TensorEngine
import XCTest

/// The built-in dataset is deterministic, balanced, beyond a linear model and within a small
/// CNN's reach.
final class BuiltinDatasetTests: XCTestCase {
    func testDeterministicAndBalanced() {
        let a = BuiltinDataset.generate(0..<50, classes: 10, seed: 3)
        let b = BuiltinDataset.generate(40..<50, classes: 10, seed: 3)
        XCTAssertEqual(Array(a.pixels[(40 * 3072)...]), b.pixels, "image i depends only on the seed and i")
        XCTAssertNotEqual(a.pixels, BuiltinDataset.generate(0..<50, classes: 10, seed: 4).pixels)
        XCTAssertEqual(a.classCounts, [Int](repeating: 5, count: 10))
    }

    private func accuracy(of model: Layer, epochs: Int, learningRate: Float, train: ImageSet, eval: ImageSet) -> Double {
        let normalization = DatasetKind.builtin.normalization
        let optimizer = Adam(parameters: FlatParameters(model.namedParameters()), learningRate: learningRate)
        let source = BatchSource(train, batchSize: 64, normalization: normalization, seed: 1, training: true)
        for epoch in 0..<epochs {
            model.train()
            let order = source.order(epoch: epoch)
            for index in 0..<source.batchesPerEpoch {
                let batch = source.batch(index, epoch: epoch, order: order)
                optimizer.zeroGradients()
                Loss.crossEntropy(model(batch.images), labels: batch.labels).backward()
                optimizer.step()
            }
        }
        model.eval()
        let all = BatchSource(eval, batchSize: eval.count, normalization: normalization, training: false).batch(0, epoch: 0, order: Array(0..<eval.count))
        let logits = withoutGradient { model(all.images) }.toArray()
        let correct = all.labels.enumerated().filter { index, label in
            let row = logits[(index * 10)..<(index * 10 + 10)]
            return row.firstIndex(of: row.max()!)! - index * 10 == label
        }.count
        return 100 * Double(correct) / Double(eval.count)
    }

    func testALinearModelFailsWhereASmallCNNLearns() {
        let train = BuiltinDataset.generate(0..<5000, classes: 10, seed: 0)
        let eval = BuiltinDataset.generate(5000..<5500, classes: 10, seed: 0)
        let untrained = LeNet5(inputChannels: 3, classes: 10).initialize(seed: 2)
        let chance = accuracy(of: untrained, epochs: 0, learningRate: 1e-3, train: train, eval: eval)
        let linear = Sequential(Flatten(), Linear(3 * 32 * 32, 10)).initialize(seed: 2)
        let linearAccuracy = accuracy(of: linear, epochs: 8, learningRate: 1e-3, train: train, eval: eval)
        let cnn = LeNet5(inputChannels: 3, classes: 10).initialize(seed: 2)
        let cnnAccuracy = accuracy(of: cnn, epochs: 10, learningRate: 2e-3, train: train, eval: eval)
        XCTAssertLessThan(chance, 20, "an untrained network is near chance")
        XCTAssertLessThan(linearAccuracy, 25, "a linear model must fail")
        XCTAssertGreaterThan(cnnAccuracy, 85, "a small CNN learns the set")
        print("built-in dataset: untrained \(chance)%, linear \(linearAccuracy)%, LeNet-5 \(cnnAccuracy)% after 10 epochs of 5000 images")
    }
}
