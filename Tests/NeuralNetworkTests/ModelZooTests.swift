import NeuralNetwork
import TensorEngine
import XCTest

final class ModelZooTests: XCTestCase {
    /// Parameter counts of the reference definitions, counted with PyTorch (10 classes).
    func testParameterCountsMatchTheReferenceDefinitions() {
        let expected: [Architecture: Int] = [
            .resnet18: 11_173_962, .resnet34: 21_282_122, .wrn40x2: 2_243_546, .wrn40x1: 563_930,
            .wrn16x2: 691_674, .wrn16x1: 175_066, .lenet5: 61_706, .lenet5BatchNorm: 61_848, .lenet5HalfBatchNorm: 15_809,
            .binaryResNet18: 11_188_874, .binaryResNet18RealWeights: 11_188_874,
        ]
        for (architecture, count) in expected {
            let channels = architecture.rawValue.hasPrefix("lenet5") ? 1 : 3
            XCTAssertEqual(architecture.make(inputChannels: channels, classes: 10).parameterCount, count, architecture.rawValue)
        }
    }

    /// Every architecture runs forward and backward at 32x32 for other class and channel
    /// counts, exposes features of its last layer's width and (but LeNet) batch norms.
    func testEveryArchitectureRunsWithAnyClassAndChannelCount() {
        for architecture in Architecture.allCases {
            let net = architecture.make(inputChannels: 2, classes: 7).initialize(seed: 1)
            let x = Tensor.uniform([2, 2, 32, 32], low: -1, high: 1, generator: Philox(seed: 3))
            let features = net.features(x)
            let logits = net.logits(fromFeatures: features)
            XCTAssertEqual(logits.shape, [2, 7], architecture.rawValue)
            XCTAssertEqual(features.rank, 2, architecture.rawValue)
            XCTAssertEqual(net.batchNorms.isEmpty, !architecture.hasBatchNorm, architecture.rawValue)
            Loss.crossEntropy(logits, labels: [1, 6]).backward()
            XCTAssertTrue(net.parameters.allSatisfy { $0.grad != nil || $0.receivedGradient }, architecture.rawValue)
        }
    }

    /// LeNet-5 pools before its ReLUs. The published order (ReLU, then pooling) gives the same
    /// logits and parameter gradients bit for bit, windows of negative values (whose ReLU'd
    /// values tie at zero) included.
    func testLeNetPoolingBeforeReLUIsExactlyThePublishedOrder() {
        for batchNorm in [false, true] {
            let x = Tensor.uniform([4, 1, 32, 32], low: -1, high: 1, generator: Philox(seed: 8))
            let labels = [0, 3, 9, 3]
            func run(_ logits: (LeNet5) -> Tensor) -> [[Float]] {
                let net = LeNet5(inputChannels: 1, classes: 10, batchNorm: batchNorm).initialize(seed: 4)
                let out = logits(net)
                Loss.crossEntropy(out, labels: labels).backward()
                return [out.toArray()] + net.parameters.map { $0.grad!.toArray() }
            }
            let engine = run { $0(x) }
            let published = run { net in
                func stage(_ conv: Conv2d, _ index: Int, _ input: Tensor) -> Tensor {
                    let y = conv(input)
                    return (batchNorm ? net.norms[index](y) : y).relu()
                }
                let a = stage(net.conv1, 0, x).maxPool2d(kernel: 2)
                let b = stage(net.conv2, 1, a).maxPool2d(kernel: 2)
                return net.logits(fromFeatures: stage(net.conv3, 2, b).flattened())
            }
            XCTAssertEqual(engine.count, published.count)
            for (index, (ours, theirs)) in zip(engine, published).enumerated() {
                XCTAssertEqual(ours, theirs, "batch norm \(batchNorm): \(index == 0 ? "logits" : "gradient of parameter \(index - 1)")")
            }
        }
    }

    func testUnknownArchitectureNamesTheKnownOnes() {
        XCTAssertThrowsError(try Architecture(named: "resnet50")) { error in
            XCTAssertTrue("\(error)".contains("wrn-16-1"), "\(error)")
        }
    }
}
