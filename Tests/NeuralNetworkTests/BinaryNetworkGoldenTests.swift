import NeuralNetwork
import TensorEngine
import TestSupport
import XCTest

/// The binary ResNet against reference/dfkd_models.py's BinaryResNet (Tests/Goldens/
/// make_goldens.py): a narrow one in training mode, with binary and with real weights, gives
/// PyTorch's logits, loss and every gradient, those of the input, the RSign and RPReLU shifts,
/// the PReLU slopes, the binarised convolutions' weights and the real shortcuts included.
final class BinaryNetworkGoldenTests: XCTestCase {
    struct Pass: Decodable {
        let logits: GoldenTensor
        let loss: Float
        let input_gradient: GoldenTensor
        let gradients: [String: GoldenTensor]
    }
    struct File: Decodable {
        let input: GoldenTensor
        let labels: [Int]
        let initial: [String: GoldenTensor]
        let binary_weights: Pass
        let real_weights: Pass
    }

    func testForwardAndBackwardMatchPyTorch() throws {
        let golden = try Goldens.load(File.self, from: "binary-network.json")
        for (binaryWeights, pass) in [(true, golden.binary_weights), (false, golden.real_weights)] {
            let label = binaryWeights ? "binary weights" : "real weights"
            let net = BinaryResNet(widths: [2, 4, 4, 8], inputChannels: 3, classes: 5, binaryWeights: binaryWeights)
            try net.loadFloatState(golden.initial.mapValues(\.values))
            let input = Tensor(shape: golden.input.shape, values: golden.input.values, requiresGrad: true)
            let logits = net(input)
            let loss = Loss.crossEntropy(logits, labels: golden.labels)
            Goldens.assertClose(logits.toArray(), pass.logits, "\(label): logits")
            XCTAssertEqual(loss.item, pass.loss, accuracy: 1e-5 * max(1, Swift.abs(pass.loss)), "\(label): loss")
            loss.backward()
            Goldens.assertClose(input.grad!.toArray(), pass.input_gradient, "\(label): input gradient")
            let parameters = Dictionary(uniqueKeysWithValues: net.namedParameters())
            XCTAssertEqual(Set(parameters.keys), Set(pass.gradients.keys), "\(label): parameter names")
            for (name, expected) in pass.gradients {
                Goldens.assertClose(parameters[name]!.grad!.toArray(), expected, scaleFloor: 1e-6, "\(label): gradient of \(name)")
            }
        }
    }

    /// The binarised weights are alpha_o sign(W_o), and their gradient passes where |W| <= 1.
    func testBinarizedWeightsScaleEachOutputChannelsSigns() {
        let weight = Tensor(shape: [2, 1, 1, 3], values: [0.5, -1.5, 1, 2, -2, 0], requiresGrad: true)
        let binary = weight.binarizedWeights()
        XCTAssertEqual(binary.toArray(), [1, -1, 1, 4.0 / 3, -4.0 / 3, 0])
        (binary * Tensor(shape: [2, 1, 1, 3], values: [1, 2, 3, 4, 5, 6])).sum().backward()
        XCTAssertEqual(weight.grad!.toArray(), [1, 0, 3, 0, 0, 6])
    }
}
