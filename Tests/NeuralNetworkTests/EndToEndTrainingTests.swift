import NeuralNetwork
import TensorEngine
import XCTest

/// A small CNN learns a synthetic separable problem, deterministically, and a steady-state
/// step reuses every primitive and buffer.
final class EndToEndTrainingTests: XCTestCase {
    /// Four classes of 1 x 8 x 8 images: class k is bright in quadrant k, plus noise.
    static func problem(count: Int) -> (Tensor, [Int]) {
        let noise = Philox(seed: 7, name: "problem").uniform(count: count * 64)
        var values = [Float](repeating: 0, count: count * 64)
        var labels: [Int] = []
        for n in 0..<count {
            let label = n % 4
            labels.append(label)
            for y in 0..<8 {
                for x in 0..<8 {
                    let quadrant = (y / 4) * 2 + x / 4
                    values[n * 64 + y * 8 + x] = (quadrant == label ? 1 : 0) + 0.8 * (noise[n * 64 + y * 8 + x] - 0.5)
                }
            }
        }
        return (Tensor(shape: [count, 1, 8, 8], values: values), labels)
    }

    static func model() -> Sequential {
        Sequential(Conv2d(1, 8, kernel: 3, padding: 1), BatchNorm2d(8), ReLU(), MaxPool2d(kernel: 2),
                   Conv2d(8, 16, kernel: 3, padding: 1), ReLU(), GlobalAveragePool(), Linear(16, 4))
    }

    static func train(seed: UInt64, steps: Int) -> (Sequential, [Float]) {
        let (images, labels) = problem(count: 64)
        let net = model().initialize(seed: seed)
        let optimizer = SGD(module: net, learningRate: 0.05, momentum: 0.9)
        for _ in 0..<steps {
            optimizer.zeroGradients()
            Loss.crossEntropy(net(images), labels: labels).backward()
            optimizer.step()
        }
        return (net, net.parameters.flatMap { $0.toArray() })
    }

    func testSmallCNNReachesFullTrainingAccuracy() {
        let (images, labels) = Self.problem(count: 64)
        let (net, _) = Self.train(seed: 3, steps: 80)
        net.eval()
        let logits = withoutGradient { net(images) }.toArray()
        let predictions = (0..<64).map { n in (0..<4).max { logits[n * 4 + $0] < logits[n * 4 + $1] }! }
        XCTAssertEqual(zip(predictions, labels).filter { $0 == $1 }.count, 64, "training accuracy")
    }

    func testSameSeedGivesBitIdenticalWeights() {
        let (_, first) = Self.train(seed: 11, steps: 5)
        let (_, second) = Self.train(seed: 11, steps: 5)
        let (_, other) = Self.train(seed: 12, steps: 5)
        XCTAssertEqual(first.map(\.bitPattern), second.map(\.bitPattern))
        XCTAssertNotEqual(first, other)
    }

    func testSteadyStateStepCreatesNoPrimitiveAndAllocatesNothing() {
        let (images, labels) = Self.problem(count: 32)
        let net = Self.model().initialize(seed: 1)
        let optimizer = Adam(module: net, learningRate: 1e-3)
        func step() {
            optimizer.zeroGradients()
            Loss.crossEntropy(net(images), labels: labels).backward()
            optimizer.step()
        }
        step()
        step()
        let primitives = PrimitiveCache.shared.createdCount
        let allocations = BufferPool.shared.statistics.systemAllocations
        for _ in 0..<3 { step() }
        XCTAssertEqual(PrimitiveCache.shared.createdCount, primitives, "primitives created in steady state")
        XCTAssertEqual(BufferPool.shared.statistics.systemAllocations, allocations, "buffers taken from the system in steady state")
    }
}
