import Foundation
import XCTest

/// The Pythons that run exported models: one with onnx and onnxruntime for the ONNX exports,
/// which scripts/test.sh makes (a virtual environment from PyPI outside the repository,
/// `DFKD_ONNX_PYTHON`), so the suite always checks them; and one with torch for the .pth and
/// .safetensors exports (`DFKD_TORCH_PYTHON`, else /usr/bin/python3), checked where it is
/// installed.
public enum TorchPython {
    /// A Python with torch and safetensors; the test is skipped without one.
    public static func path() throws -> String {
        let python = ProcessInfo.processInfo.environment["DFKD_TORCH_PYTHON"] ?? "/usr/bin/python3"
        guard try has(python, "torch, safetensors, numpy") else {
            throw XCTSkip("\(python) lacks torch or safetensors (set DFKD_TORCH_PYTHON to a Python that has them): "
                          + "the .pth and .safetensors exports are checked against PyTorch only where it is installed")
        }
        return python
    }

    /// A Python with onnx, onnxruntime, safetensors and numpy: `DFKD_ONNX_PYTHON`, which
    /// must have them; without it a test run outside scripts/test.sh is skipped.
    public static func onnxPath() throws -> String {
        guard let python = ProcessInfo.processInfo.environment["DFKD_ONNX_PYTHON"] else {
            throw XCTSkip("DFKD_ONNX_PYTHON is not set: scripts/test.sh makes that Python (scripts/onnx-python.sh) and checks the ONNX exports")
        }
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("DFKD_ONNX_PYTHON=\(python) is not an executable file: run scripts/onnx-python.sh")
        }
        guard try has(python, "safetensors.numpy, numpy, onnx, onnxruntime") else {
            throw TestFailure("DFKD_ONNX_PYTHON=\(python) lacks onnx, onnxruntime, safetensors or numpy: run scripts/onnx-python.sh")
        }
        return python
    }

    private static func has(_ python: String, _ modules: String) throws -> Bool {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return try Subprocess.run(python, ["-c", "import " + modules]).status == 0
    }

    /// Runs reference/run_exports.py on `files` and `batch` (a safetensors file), writing the
    /// logits of each file, named by its base name, to `logits`.
    public static func runExports(_ python: String, architecture: String, channels: Int, classes: Int,
                                  batch: String, files: [String], logits: String) throws -> (status: Int32, output: String) {
        try Subprocess.run(python, [TestFiles.repositoryRoot + "/reference/run_exports.py", "--architecture", architecture,
                                    "--channels", "\(channels)", "--classes", "\(classes)", "--batch", batch, "--out", logits] + files)
    }
}

/// A test's precondition that does not hold, where skipping would hide a check the suite owes.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
