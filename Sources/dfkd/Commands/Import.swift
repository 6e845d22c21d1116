import ArgumentParser
import Data
import Foundation
import Interchange
import NeuralNetwork
import Storage

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a dfkd model file (a teacher) from a PyTorch checkpoint or a safetensors file.",
        discussion: """
        FILE is a .pth/.pt file as torch.save writes it since torch 1.6 (a zip archive; read \
        here, without Python) or a .safetensors file. The state dict is found at the top level \
        or under 'state_dict', 'model_state_dict', 'model', 'net' or 'state'; DataParallel's \
        'module.' prefix is dropped. Its names and shapes must be the architecture's as \
        reference/dfkd_models.py defines it (PyTorch's own names); every missing, unexpected or \
        mis-shaped entry is listed. Floating-point tensors of any precision become float32. \
        Nothing in a file is run: a pickle that calls anything but PyTorch's tensor rebuilding \
        is refused, and a whole pickled module (torch.save(model)) is named with the line of \
        PyTorch that saves its state dict instead.
        """)

    @Argument(help: "The PyTorch checkpoint (.pth, .pt) or safetensors file.") var file: String
    @Option(help: "The architecture of the checkpoint's state dict (reference/dfkd_models.py).") var architecture: Architecture
    @Option(help: "Number of classes.") var classes: Int
    @Option(help: "Input shape C,H,W (the zoo's architectures take 32 x 32 images).") var inputShape: String
    @Option(help: "The input normalisation the model was trained with: \(Self.presets.keys.sorted().joined(separator: ", ")), or MEANS/STDS ('0.5,0.5,0.5/0.25,0.25,0.25').")
    var normalization: String
    @Option(help: "The model file to write.") var out: String

    /// The usual datasets' normalisations (dfkd's datasets use the same), and none.
    static let presets: [String: Normalization] = Dictionary(uniqueKeysWithValues: DatasetKind.allCases.map { ($0.rawValue, $0.normalization) })
        .merging(["imagenet": Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]),
                  "none": Normalization(mean: [0], std: [1])]) { first, _ in first }

    func validate() throws {
        guard (1...100_000).contains(classes) else { throw ValidationError("--classes must be between 1 and 100000") }
        try CommandLineValues.requireRegularFileOrAbsent(out)
    }

    func run() throws {
        let shape = try parsedShape()
        let norm = try parsedNormalization(channels: shape[0])
        let (found, place, format) = try read()
        let (state, stripped) = found.withoutDataParallelPrefix()
        let model = architecture.make(inputChannels: shape[0], classes: classes)
        try StateImport.load(state, into: model, file: file)
        let converted = Set(state.tensors.map(\.tensor.dtype)).filter { $0 != .float32 && $0.isFloatingPoint }
        let description = ModelDescription(
            architecture: architecture, classes: classes, inputShape: shape, normalizationMean: norm.mean, normalizationStd: norm.std,
            provenance: ["imported_from": StoredRun.absolute(file), "imported_format": format, "created": ISO8601DateFormatter().string(from: Date()),
                         "dfkd_version": DataFreeKD.version, "command": CommandLine.arguments.joined(separator: " ")])
        try ModelFile.write(model, description: description, to: out)
        print("import: \(state.tensors.count) tensors (\(model.parameters.reduce(0) { $0 + $1.count }) parameters) from \(place) of \(file)"
              + (stripped ? ", DataParallel's 'module.' prefix dropped" : "")
              + (converted.isEmpty ? "" : ", \(converted.map(\.rawValue).sorted().joined(separator: ", ")) converted to float32"))
        print("model: \(out) (\(architecture.rawValue), \(shape) inputs normalised by \(norm.mean) / \(norm.std), \(classes) classes); "
              + "dfkd eval --model-file \(out) --dataset D measures it")
    }

    private func read() throws -> (StateDictionary, place: String, format: String) {
        if file.hasSuffix(".safetensors") {
            return (try Safetensors.read(file).state, "the safetensors file", "safetensors")
        }
        let (state, place) = try TorchCheckpoint.read(file)
        return (state, place, "pytorch")
    }

    private func parsedShape() throws -> [Int] {
        let parts = inputShape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, let channels = parts[0], let height = parts[1], let width = parts[2], (1...64).contains(channels) else {
            throw ValidationError("--input-shape '\(inputShape)': expected C,H,W such as 1,32,32 (C from 1 to 64)")
        }
        guard height == 32, width == 32 else {
            throw ValidationError("--input-shape '\(inputShape)': the zoo's architectures take 32 x 32 images (dfkd's datasets give MNIST padded to 32)")
        }
        return [channels, height, width]
    }

    private func parsedNormalization(channels: Int) throws -> Normalization {
        let chosen: Normalization
        if let preset = Self.presets[normalization.lowercased()] {
            chosen = preset
        } else {
            let halves = normalization.split(separator: "/", omittingEmptySubsequences: false)
            let numbers = halves.map { $0.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) } }
            guard halves.count == 2, numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0?.isFinite == true } }) else {
                throw ValidationError("--normalization '\(normalization)': expected a preset (\(Self.presets.keys.sorted().joined(separator: ", "))) "
                                      + "or MEANS/STDS such as 0.1307/0.3081")
            }
            chosen = Normalization(mean: numbers[0].map { $0! }, std: numbers[1].map { $0! })
        }
        guard chosen.std.allSatisfy({ $0 > 0 }) else { throw ValidationError("--normalization '\(normalization)': every std must be positive") }
        // One value stands for every channel.
        let mean = chosen.mean.count == 1 ? Array(repeating: chosen.mean[0], count: channels) : chosen.mean
        let std = chosen.std.count == 1 ? Array(repeating: chosen.std[0], count: channels) : chosen.std
        guard mean.count == channels, std.count == channels else {
            throw ValidationError("--normalization '\(normalization)' gives \(chosen.mean.count) means and \(chosen.std.count) stds for \(channels) channel(s)")
        }
        return Normalization(mean: mean, std: std)
    }
}
