import Foundation
import Interchange
import NeuralNetwork
import TensorEngine
import TestSupport
import XCTest
import ZIPFoundation

/// PyTorch checkpoints and safetensors files made by Tests/Fixtures/make_torch_fixtures.py
/// with torch: each common layout of a state dict is found and gives the model PyTorch's
/// logits; a whole pickled module, a pickle that calls a function, damaged zips and
/// safetensors headers are refused by name.
final class TorchCheckpointTests: XCTestCase {
    static let fixtures = TestFiles.repositoryRoot + "/Tests/Fixtures/torch/"

    /// The model's logits on the fixture batch, after importing `state`.
    private func logits(_ architecture: Architecture, _ state: StateDictionary, file: String) throws -> [Float] {
        let model = architecture.make(inputChannels: 1, classes: 10)
        try StateImport.load(state, into: model, file: file)
        model.eval()
        let batch = try XCTUnwrap(Safetensors.read(Self.fixtures + "batch.safetensors").state["input"])
        return withoutGradient { model(Tensor(shape: batch.shape, values: batch.floats())).toArray() }
    }

    private func expected(_ name: String) throws -> GoldenTensor {
        let stored = try XCTUnwrap(Safetensors.read(Self.fixtures + "batch.safetensors").state[name])
        return GoldenTensor(shape: stored.shape, values: stored.floats())
    }

    func testEveryCommonLayoutGivesPyTorchsLogits() throws {
        let layouts = [("lenet5-half.pth", "the top level"), ("lenet5-half-under-state_dict.pth", "under 'state_dict'"),
                       ("lenet5-half-under-model.pth", "under 'model'"), ("lenet5-half-under-net.pth", "under 'net'"),
                       ("lenet5-half-dataparallel.pth", "the top level")]
        let reference = try expected("lenet5-half")
        for (name, place) in layouts {
            let (found, where_) = try TorchCheckpoint.read(Self.fixtures + name)
            XCTAssertEqual(where_, place, name)
            let (state, stripped) = found.withoutDataParallelPrefix()
            XCTAssertEqual(stripped, name.contains("dataparallel"), name)
            XCTAssertEqual(state.tensors.map(\.name), ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias",
                                                        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], name)
            Goldens.assertClose(try logits(.lenet5Half, state, file: name), reference, "\(name) logits")
        }
        let safetensors = try Safetensors.read(Self.fixtures + "lenet5-half.safetensors").state
        Goldens.assertClose(try logits(.lenet5Half, safetensors, file: "safetensors"), reference, "safetensors logits")
    }

    func testAFloat16WideResNetWithBatchNormGivesPyTorchsLogits() throws {
        let (state, _) = try TorchCheckpoint.read(Self.fixtures + "wrn-16-1-float16.pth")
        XCTAssertEqual(state["conv1.weight"]?.dtype, .float16)
        XCTAssertEqual(state["block1.layer.0.bn1.num_batches_tracked"]?.dtype, .int64)
        let model = Architecture.wrn16x1.make(inputChannels: 1, classes: 10)
        try StateImport.load(state, into: model, file: "wrn")
        let counter = model.namedBuffers().first { $0.0 == "bn1.num_batches_tracked" }?.1
        if case .counter(let value)? = counter { XCTAssertEqual(value.value, 123) } else { XCTFail("no counter") }
        Goldens.assertClose(try logits(.wrn16x1, state, file: "wrn"), try expected("wrn-16-1"), "WRN-16-1 logits")
    }

    func testAWholePickledModuleIsRefusedWithWhatToRunInstead() throws {
        let file = Self.fixtures + "lenet5-half-whole-module.pth"
        XCTAssertThrowsError(try TorchCheckpoint.read(file)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("holds a whole pickled module (dfkd_models.LeNet5), not a state dict"), message)
            XCTAssertTrue(message.contains("torch.save(torch.load('\(file)', weights_only=False).state_dict(), 'state_dict.pth')"), message)
        }
    }

    func testAPickleThatCallsAFunctionIsRefusedAndNothingRuns() throws {
        XCTAssertThrowsError(try TorchCheckpoint.read(Self.fixtures + "hostile-global.pth")) { error in
            XCTAssertTrue("\(error)".contains("calls posix.system, which a model file has no reason to call; refused"), "\(error)")
        }
    }

    func testDamagedZipsAreRefusedNamingTheFile() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "lenet5-half.pth")))
        let directory = TestFiles.scratchDirectory()
        for (name, damaged, message) in [
            ("truncated.pth", Array(bytes.prefix(bytes.count / 2)), "is not a readable zip archive"),
            ("flipped.pth", flipped(bytes, at: bytes.count / 2), "cannot be read (truncated or damaged"),
            ("text.pth", Array("epoch: 3\n".utf8), "is not a PyTorch checkpoint (expected a zip archive"),
            ("legacy.pth", [0x80, 0x02, 0x8A, 0x0A] + Array(repeating: 0, count: 16), "format before torch 1.6"),
        ] {
            let path = directory + "/" + name
            TestFiles.write(damaged, to: path)
            XCTAssertThrowsError(try TorchCheckpoint.read(path), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ": ") && "\(error)".contains(message), "\(name): \(error)")
            }
        }
    }

    private func flipped(_ bytes: [UInt8], at index: Int) -> [UInt8] {
        var copy = bytes
        copy[index] ^= 0xFF
        return copy
    }

    func testDamagedSafetensorsHeadersAreRefused() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "lenet5-half.safetensors")))
        let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        let directory = TestFiles.scratchDirectory()
        func file(header text: String, data: [UInt8]) -> [UInt8] {
            let json = Array(text.utf8)
            return withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json + data
        }
        let data = Array(bytes[(8 + length)...])
        for (name, damaged, message) in [
            ("short.safetensors", Array(bytes.prefix(5)), "starts with an 8-byte header length"),
            ("huge-header.safetensors", [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0] + Array(bytes[8...]), "declares a header of 4294967295 bytes"),
            ("not-json.safetensors", file(header: "{\"conv1.weight\": ", data: data), "its header is not a JSON object"),
            ("truncated-data.safetensors", Array(bytes.prefix(bytes.count - 100)), "data_offsets"),
            ("wrong-dtype.safetensors", file(header: header.replacingOccurrences(of: "\"F32\"", with: "\"F64\""), data: data), "needs"),
            ("unknown-dtype.safetensors", file(header: header.replacingOccurrences(of: "\"F32\"", with: "\"C64\""), data: data), "dtype C64 is not supported"),
            ("huge-shape.safetensors", file(header: header.replacingOccurrences(of: "\"shape\":[10]", with: "\"shape\":[4611686018427387910]"), data: data),
             "shape [4611686018427387910] of F32 needs more bytes than a file can hold"),
        ] {
            let path = directory + "/" + name
            TestFiles.write(damaged, to: path)
            XCTAssertThrowsError(try Safetensors.read(path), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ": ") && "\(error)".contains(message), "\(name): \(error)")
            }
        }
    }

    /// Pickles whose tensor views no PyTorch state dict has: a storage offset of 2^63-1, a
    /// negative stride (which PyTorch refuses), a stride of 2^62 and a storage of 2^62
    /// elements are refused naming the tensor, not imported or trapped on.
    func testHostileTensorViewsAreRefused() throws {
        let directory = TestFiles.scratchDirectory()
        let long1 = { (value: Int64) in [0x8A, 0x08] + withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        // conv1.weight: storage key '0' of 75 elements (BININT1 75), offset BININT1 0, size (3, 1, 5, 5), stride (25, 25, 5, 1).
        let storage: [UInt8] = [0x4B, 75, 0x74, 0x71, 0x08, 0x51], offset: [UInt8] = [0x4B, 0x00]
        let strides: [UInt8] = [0x28, 0x4B, 25, 0x4B, 25, 0x4B, 5, 0x4B, 1, 0x74]
        for (name, find, replacement, message) in [
            ("offset.pth", storage + offset, storage + long1(Int64.max), "conv1.weight: shape [3, 1, 5, 5], strides [25, 25, 5, 1] and storage offset 9223372036854775807 reach outside the storage"),
            ("negative-stride.pth", strides, Array(strides.dropLast(3)) + [0x4A, 0xFF, 0xFF, 0xFF, 0xFF, 0x74], "are negative; PyTorch refuses negative strides"),
            ("huge-stride.pth", strides, Array(strides.dropLast(3)) + long1(1 << 62) + [0x74], "strides [25, 25, 5, 4611686018427387904] and storage offset 0 reach outside"),
            ("huge-storage.pth", storage, [0x8A, 0x08] + withUnsafeBytes(of: Int64(1 << 62).littleEndian) { Array($0) } + Array(storage.dropFirst(2)), "fewer than its 4611686018427387904"),
        ] as [(String, [UInt8], [UInt8], String)] {
            let path = directory + "/" + name
            try rewritePickle(of: Self.fixtures + "lenet5-half.pth", to: path) { pickle in
                let at = try XCTUnwrap(pickle.firstRange(of: find), "\(name): the fixture's pickle changed")
                pickle.replaceSubrange(at, with: replacement)
            }
            XCTAssertThrowsError(try TorchCheckpoint.read(path), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ": ") && "\(error)".contains(message), "\(name): \(error)")
            }
        }
    }

    /// Copies the checkpoint at `source` to `path` with its pickle changed by `change`.
    private func rewritePickle(of source: String, to path: String, _ change: (inout [UInt8]) throws -> Void) throws {
        let original = try Archive(url: URL(fileURLWithPath: source), accessMode: .read)
        let copy = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for entry in original {
            var bytes: [UInt8] = []
            _ = try original.extract(entry) { bytes += $0 }
            if entry.path.hasSuffix("/data.pkl") { try change(&bytes) }
            let data = Data(bytes)
            try copy.addEntry(with: entry.path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
    }

    func testEveryMismatchIsListedAtOnce() throws {
        var (state, _) = try TorchCheckpoint.read(Self.fixtures + "lenet5-half.pth")
        state.tensors.removeAll { $0.name == "fc2.bias" }
        state.tensors.append(("fc3.weight", StoredTensor(floats: [1], shape: [1])))
        state.tensors[0] = ("conv1.weight", StoredTensor(floats: [Float](repeating: 0, count: 75), shape: [3, 25]))
        state.tensors[1] = ("conv1.bias", StoredTensor(integers: [1, 2, 3], shape: [3]))
        let model = Architecture.lenet5Half.make(inputChannels: 1, classes: 10)
        let before = model.namedFloatState().map { $0.1.toArray() }
        XCTAssertThrowsError(try StateImport.load(state, into: model, file: "F")) { error in
            let message = "\(error)"
            for part in ["F: does not fit the architecture", "missing (1): fc2.bias", "unexpected (1): fc3.weight",
                         "conv1.weight: shape [3, 25], the model has [3, 1, 5, 5]", "conv1.bias: type I64, expected a floating-point type"] {
                XCTAssertTrue(message.contains(part), "'\(part)' is not in: \(message)")
            }
        }
        XCTAssertEqual(model.namedFloatState().map { $0.1.toArray() }, before, "a mismatch changes nothing")
    }

    func testSafetensorsRoundTrip() throws {
        let (state, _) = try TorchCheckpoint.read(Self.fixtures + "wrn-16-1-float16.pth")
        let path = TestFiles.scratchDirectory() + "/round.safetensors"
        try Safetensors.write(state, metadata: ["format": "pt"], to: path)
        let (read, metadata) = try Safetensors.read(path)
        XCTAssertEqual(metadata, ["format": "pt"])
        XCTAssertEqual(read.tensors.map(\.name), state.tensors.map(\.name))
        for ((_, a), (_, b)) in zip(read.tensors, state.tensors) {
            XCTAssertEqual(a.dtype, b.dtype)
            XCTAssertEqual(a.shape, b.shape)
            XCTAssertEqual(a.bytes, b.bytes)
        }
    }
}
