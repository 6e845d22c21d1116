import NeuralNetwork
import TensorEngine
import TestSupport
import XCTest

/// A small CNN (conv, BN, ReLU, max pool, strided conv, BN, LeakyReLU, global average pool,
/// linear) against PyTorch: logits, loss and every parameter gradient for two steps, and the
/// parameters and running statistics after SGD (Nesterov, weight decay) and Adam steps.
final class NetworkGoldenTests: XCTestCase {
    struct Step: Decodable {
        let logits: GoldenTensor
        let loss: Float
        let gradients: [String: GoldenTensor]
        let after: [String: GoldenTensor]
    }
    struct File: Decodable {
        let input: GoldenTensor
        let labels: [Int]
        let initial: [String: GoldenTensor]
        let sgd: [Step]
        let adam: [Step]
    }

    final class SmallNet: Layer {
        let conv1 = Conv2d(3, 8, kernel: 3, padding: 1)
        let bn1 = BatchNorm2d(8)
        let conv2 = Conv2d(8, 16, kernel: 3, stride: 2, padding: 1, bias: false)
        let bn2 = BatchNorm2d(16)
        let fc = Linear(16, 5)

        override var children: [(String, Module)] { [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("fc", fc)] }

        override func forward(_ x: Tensor) -> Tensor {
            let a = bn1(conv1(x)).relu().maxPool2d(kernel: 2)
            let b = bn2(conv2(a)).leakyRelu(slope: 0.2)
            return fc(b.globalAveragePooled())
        }
    }

    func testTrainingStepsMatchPyTorch() throws {
        let golden = try Goldens.load(File.self, from: "network.json")
        for (name, steps) in [("sgd", golden.sgd), ("adam", golden.adam)] {
            let net = SmallNet()
            try net.loadFloatState(golden.initial.mapValues(\.values))
            let optimizer: Optimizer = name == "sgd"
                ? SGD(module: net, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
                : Adam(module: net, learningRate: 1e-2, betas: (0.5, 0.999), weightDecay: 1e-4)
            for (index, step) in steps.enumerated() {
                let label = "\(name) step \(index)"
                optimizer.zeroGradients()
                let logits = net(golden.input.tensor)
                let loss = Loss.crossEntropy(logits, labels: golden.labels)
                Goldens.assertClose(logits.toArray(), step.logits, "\(label) logits")
                XCTAssertEqual(loss.item, step.loss, accuracy: 1e-5 * max(1, Swift.abs(step.loss)), "\(label) loss")
                loss.backward()
                let parameters = Dictionary(uniqueKeysWithValues: net.namedParameters())
                XCTAssertEqual(Set(parameters.keys), Set(step.gradients.keys), "\(label): parameter names")
                for (parameterName, expected) in step.gradients {
                    // A bias in front of training-mode batch norm has zero gradient in exact
                    // arithmetic: both sides hold rounding noise near 1e-8, so it is held to 1e-6
                    // absolute (scale floor 1e-2) instead.
                    let floor: Float = parameterName == "conv1.bias" ? 1e-2 : 1e-6
                    Goldens.assertClose(parameters[parameterName]!.grad!.toArray(), expected, scaleFloor: floor,
                                        "\(label) gradient of \(parameterName)")
                }
                optimizer.step()
                let state = Dictionary(uniqueKeysWithValues: net.namedFloatState())
                for (stateName, expected) in step.after {
                    Goldens.assertClose(state[stateName]!.toArray(), expected, "\(label): \(stateName) after the step")
                }
            }
            XCTAssertEqual(net.bn1.batchesTracked.value, 2)
        }
    }

    func testLoadingReportsEveryMismatchAtOnce() {
        let net = SmallNet()
        var values = Dictionary(uniqueKeysWithValues: net.namedFloatState().map { ($0.0, $0.1.toArray()) })
        values["conv1.weight"] = [1, 2, 3]
        values.removeValue(forKey: "fc.bias")
        values["fc.extra"] = [0]
        XCTAssertThrowsError(try net.loadFloatState(values)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing: fc.bias"), text)
            XCTAssertTrue(text.contains("unexpected: fc.extra"), text)
            XCTAssertTrue(text.contains("size mismatch for conv1.weight: 3 values given, the model has shape [8, 3, 3, 3]"), text)
        }
    }

    func testStateNamesFollowPyTorch() {
        let names = SmallNet().namedParameters().map(\.0) + SmallNet().namedBuffers().map(\.0)
        XCTAssertEqual(names, ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias",
                               "fc.weight", "fc.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
                               "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked"])
    }
}
