import ArgumentParser
import Foundation
import Interchange
import Storage

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a dfkd model file as a PyTorch state dict (.pth) or a safetensors file.",
        discussion: """
        FILE.pth is a plain state dict as torch.save writes it (a zip archive), which \
        torch.load(FILE, weights_only=True) reads and the definitions of reference/dfkd_models.py \
        load with strict=True. FILE.safetensors holds the same tensors and, as metadata, the \
        architecture, classes, input shape and input normalisation. The model takes inputs \
        normalised as the model file records.
        """)

    @Argument(help: "The dfkd model file (a teacher or a student).") var model: String
    @Option(help: "The file to write: .pth or .safetensors.") var to: String

    func validate() throws {
        guard to.hasSuffix(".pth") || to.hasSuffix(".pt") || to.hasSuffix(".safetensors") else {
            throw ValidationError("--to '\(to)': expected a .pth, .pt or .safetensors file")
        }
        try CommandLineValues.requireRegularFileOrAbsent(to)
    }

    func run() throws {
        let (network, description) = try ModelFile.load(model)
        let state = StateExport.stateDictionary(of: network)
        if to.hasSuffix(".safetensors") {
            let metadata = ["format": "pt", "architecture": description.architecture.rawValue, "classes": "\(description.classes)",
                            "input_shape": description.inputShape.map(String.init).joined(separator: ","),
                            "normalization_mean": description.normalizationMean.map { "\($0)" }.joined(separator: ","),
                            "normalization_std": description.normalizationStd.map { "\($0)" }.joined(separator: ","),
                            "dfkd_version": DataFreeKD.version]
            try Safetensors.write(state, metadata: metadata, to: to)
        } else {
            try TorchStateWriter.write(state, to: to)
        }
        print("export: \(state.tensors.count) tensors of \(model) (\(description.architecture.rawValue)) to \(to); in PyTorch: "
              + "dfkd_models.make('\(description.architecture.rawValue)', \(description.inputShape[0]), \(description.classes))"
              + (to.hasSuffix(".safetensors") ? ".load_state_dict(safetensors.torch.load_file('\(to)'))"
                                              : ".load_state_dict(torch.load('\(to)', weights_only=True))")
              + ", inputs normalised by \(description.normalizationMean) / \(description.normalizationStd)")
    }
}
