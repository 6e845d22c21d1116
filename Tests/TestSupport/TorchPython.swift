import Foundation
import XCTest

/// A Python with torch, safetensors, onnx and onnxruntime, for the tests that check exports
/// against PyTorch: `DFKD_TORCH_PYTHON`, else /usr/bin/python3. The suite never installs
/// them; where they are missing, those tests are skipped and say why.
public enum TorchPython {
    public static func path() throws -> String {
        let python = ProcessInfo.processInfo.environment["DFKD_TORCH_PYTHON"] ?? "/usr/bin/python3"
        let probe = try Subprocess.run(python, ["-c", "import torch, safetensors, onnx, onnxruntime"])
        guard probe.status == 0 else {
            throw XCTSkip("\(python) lacks torch, safetensors, onnx or onnxruntime (set DFKD_TORCH_PYTHON to a Python that has them): "
                          + "the export is checked against PyTorch only where they are installed")
        }
        return python
    }

    /// Runs reference/run_exports.py on `files` and `batch` (a safetensors file), writing the
    /// logits of each file, named by its base name, to `logits`.
    public static func runExports(_ python: String, architecture: String, channels: Int, classes: Int,
                                  batch: String, files: [String], logits: String) throws -> (status: Int32, output: String) {
        try Subprocess.run(python, [TestFiles.repositoryRoot + "/reference/run_exports.py", "--architecture", architecture,
                                    "--channels", "\(channels)", "--classes", "\(classes)", "--batch", batch, "--out", logits] + files)
    }
}
