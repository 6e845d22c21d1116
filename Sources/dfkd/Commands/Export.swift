import ArgumentParser
import Foundation
import Interchange
import Storage

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a dfkd model file as a PyTorch state dict (.pth), a safetensors file or an ONNX graph.",
        discussion: """
        FILE.pth is a plain state dict as torch.save writes it (a zip archive), which \
        torch.load(FILE, weights_only=True) reads and the definitions of reference/dfkd_models.py \
        load with strict=True. FILE.safetensors holds the same tensors and, as metadata, the \
        architecture, classes, input shape and input normalisation. FILE.onnx is an inference \
        graph (opset 13; input 'input' N x C x H x W, output 'logits' N x K; batch norms kept as \
        BatchNormalization nodes in inference mode) with the same facts as metadata_props. The model takes inputs normalised as the model file records.
        """)

    @Argument(help: "The dfkd model file (a teacher or a student).") var model: String
    @Option(help: "The file to write: .pth (or .pt), .safetensors or .onnx.") var to: String

    func validate() throws {
        guard [".pth", ".pt", ".safetensors", ".onnx"].contains(where: to.hasSuffix) else {
            throw ValidationError("--to '\(to)': expected a .pth, .pt, .safetensors or .onnx file")
        }
        try CommandLineValues.requireRegularFileOrAbsent(to)
    }

    func run() throws {
        let (network, description) = try ModelFile.load(model)
        let state = StateExport.stateDictionary(of: network)
        let metadata = ["architecture": description.architecture.rawValue, "classes": "\(description.classes)",
                        "input_shape": description.inputShape.map(String.init).joined(separator: ","),
                        "normalization_mean": description.normalizationMean.map { "\($0)" }.joined(separator: ","),
                        "normalization_std": description.normalizationStd.map { "\($0)" }.joined(separator: ","),
                        "dfkd_version": DataFreeKD.version]
        // Written to a temporary file and renamed: an interrupted export leaves no partial
        // file where a user, or a deployment script, would take it for a model.
        if to.hasSuffix(".onnx") {
            let bytes = try OnnxExport.model(network, inputShape: description.inputShape, classes: description.classes,
                                             metadata: metadata.merging(["batch_norm": OnnxExport.batchNormNote]) { first, _ in first })
            try AtomicFile.write(to) { temporary in try Data(bytes).write(to: URL(fileURLWithPath: temporary)) }
            print("export: \(description.architecture.rawValue) as an ONNX graph (opset \(OnnxExport.opset), batch norm \(OnnxExport.batchNormNote)) to \(to); "
                  + "inputs normalised by \(description.normalizationMean) / \(description.normalizationStd)")
            return
        }
        try AtomicFile.write(to) { temporary in
            if to.hasSuffix(".safetensors") {
                try Safetensors.write(state, metadata: metadata.merging(["format": "pt"]) { first, _ in first }, to: temporary)
            } else {
                try TorchStateWriter.write(state, to: temporary)
            }
        }
        print("export: \(state.tensors.count) tensors of \(model) (\(description.architecture.rawValue)) to \(to); in PyTorch: "
              + "dfkd_models.make('\(description.architecture.rawValue)', \(description.inputShape[0]), \(description.classes))"
              + (to.hasSuffix(".safetensors") ? ".load_state_dict(safetensors.torch.load_file('\(to)'))"
                                              : ".load_state_dict(torch.load('\(to)', weights_only=True))")
              + ", inputs normalised by \(description.normalizationMean) / \(description.normalizationStd)")
    }
}
