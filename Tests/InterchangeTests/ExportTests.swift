import Foundation
import Interchange
import NeuralNetwork
import TensorEngine
import TestSupport
import XCTest

/// Exported state dicts: read back by this reader to the same tensors, always; and, where a
/// Python with torch, safetensors, onnx and onnxruntime is installed, loaded by
/// torch.load(weights_only=True) into reference/dfkd_models.py with strict=True, and the ONNX
/// graph checked by onnx and run by onnxruntime, each giving dfkd's logits.
final class ExportTests: XCTestCase {
    private func model(_ architecture: Architecture) -> any Classifier {
        let model = architecture.make(inputChannels: 1, classes: 10).initialize(seed: 7)
        // Batch norm statistics away from their initial values, so that a lost buffer shows.
        for (index, (name, tensor)) in model.namedFloatState().enumerated() where name.contains("running") {
            let values = (0..<tensor.count).map { Float(0.5) + Float(($0 + index) % 7) * 0.1 }
            values.withUnsafeBufferPointer { tensor.pointer.update(from: $0.baseAddress!, count: values.count) }
        }
        model.eval()
        return model
    }

    func testAnExportedStateDictReadsBackToTheSameTensors() throws {
        let directory = TestFiles.scratchDirectory()
        for architecture in [Architecture.lenet5Half, .lenet5HalfBatchNorm, .wrn16x1] {
            let state = StateExport.stateDictionary(of: model(architecture))
            try TorchStateWriter.write(state, to: directory + "/model.pth")
            let (read, place) = try TorchCheckpoint.read(directory + "/model.pth")
            XCTAssertEqual(place, "the top level")
            XCTAssertEqual(read.tensors.map(\.name), state.tensors.map(\.name))
            for ((name, a), (_, b)) in zip(read.tensors, state.tensors) {
                XCTAssertEqual([a.dtype.rawValue] + a.shape.map(String.init), [b.dtype.rawValue] + b.shape.map(String.init), name)
                XCTAssertEqual(a.bytes, b.bytes, name)
            }
        }
        // PyTorch's order: each module's parameters, then its buffers, module by module.
        let names = StateExport.stateDictionary(of: model(.wrn16x1)).tensors.map(\.name)
        XCTAssertEqual(Array(names.prefix(6)), ["conv1.weight", "block1.layer.0.bn1.weight", "block1.layer.0.bn1.bias", "block1.layer.0.bn1.running_mean",
                                                "block1.layer.0.bn1.running_var", "block1.layer.0.bn1.num_batches_tracked"])
    }

    /// Every architecture's ONNX export passes onnx.checker and gives dfkd's logits in
    /// onnxruntime: in every run of the suite (scripts/test.sh makes that Python).
    func testOnnxRuntimeRunsTheExportsAndGivesDfkdsLogits() throws {
        try checkExports(["onnx"], python: try TorchPython.onnxPath())
    }

    /// The .pth and .safetensors exports load strictly into reference/dfkd_models.py and give
    /// dfkd's logits in PyTorch, where torch is installed.
    func testPyTorchRunsTheExportsAndGivesDfkdsLogits() throws {
        try checkExports(["pth", "safetensors"], python: try TorchPython.path())
    }

    private func checkExports(_ kinds: [String], python: String) throws {
        let directory = TestFiles.scratchDirectory()
        let batch = try XCTUnwrap(Safetensors.read(TorchCheckpointTests.fixtures + "batch.safetensors").state["input"])
        // Every architecture of the zoo, each of its block kinds at least once.
        for architecture in [Architecture.lenet5Half, .lenet5HalfBatchNorm, .wrn16x1, .resnet18, .vgg11, .mobileNetV2, .binaryResNet18, .binaryResNet18RealWeights] {
            let network = model(architecture)
            let expected = withoutGradient { network(Tensor(shape: batch.shape, values: batch.floats())).toArray() }
            let state = StateExport.stateDictionary(of: network)
            try TorchStateWriter.write(state, to: directory + "/model.pth")
            try Safetensors.write(state, to: directory + "/model.safetensors")
            try Data(try OnnxExport.model(network, inputShape: [1, 32, 32], classes: 10, metadata: ["architecture": architecture.rawValue]))
                .write(to: URL(fileURLWithPath: directory + "/model.onnx"))
            let run = try TorchPython.runExports(python, architecture: architecture.rawValue, channels: 1, classes: 10,
                                                 batch: TorchCheckpointTests.fixtures + "batch.safetensors",
                                                 files: kinds.map { directory + "/model." + $0 }, logits: directory + "/logits.safetensors")
            XCTAssertEqual(run.status, 0, run.output)
            let logits = try Safetensors.read(directory + "/logits.safetensors").state
            for kind in kinds {
                let found = try XCTUnwrap(logits["model." + kind], run.output)
                Goldens.assertClose(expected, GoldenTensor(shape: found.shape, values: found.floats()), "\(architecture.rawValue) \(kind): dfkd against \(python)")
            }
        }
    }
}
