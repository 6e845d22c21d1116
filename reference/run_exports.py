"""Runs models exported by `dfkd export` in PyTorch and onnxruntime on one batch, so a user
can check that each gives the logits dfkd gives (`dfkd eval` on the model file):

    python reference/run_exports.py --architecture lenet5-half --channels 1 --classes 10 \\
        --batch batch.safetensors --out logits.safetensors student.pth student.safetensors student.onnx

The batch is the safetensors tensor `input` (N x C x H x W, normalised as the model file
records). A .pth is read by torch.load(weights_only=True) and a .safetensors by
safetensors.torch, each into dfkd_models with strict=True; an .onnx is checked by
onnx.checker and run by onnxruntime, which need no torch. The logits go to --out, one tensor per file, named by
the file's base name, and the largest difference between every two files is printed.
"""
import argparse
import itertools
import os
import sys

import numpy
from safetensors.numpy import load_file, save_file


def logits_of(path, architecture, channels, classes, batch):
    if path.endswith(".onnx"):
        # onnx and onnxruntime alone: the suite checks ONNX exports where torch is absent.
        import onnx
        import onnxruntime
        graph = onnx.load(path)
        onnx.checker.check_model(graph, full_check=True)
        recorded = {entry.key: entry.value for entry in graph.metadata_props}.get("architecture")
        if recorded not in (None, architecture):
            sys.exit(f"{path}: an export of {recorded}, not {architecture}")
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return session.run(["logits"], {"input": batch})[0]
    import torch
    from safetensors.torch import load_file as load_torch_file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import dfkd_models
    state = load_torch_file(path) if path.endswith(".safetensors") else torch.load(path, weights_only=True)
    model = dfkd_models.make(architecture, channels, classes).eval()
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        return model(torch.from_numpy(batch)).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--architecture", required=True)
    parser.add_argument("--channels", type=int, required=True)
    parser.add_argument("--classes", type=int, required=True)
    parser.add_argument("--batch", required=True, help="a safetensors file with the tensor 'input'")
    parser.add_argument("--out", required=True, help="the safetensors file of the logits")
    parser.add_argument("files", nargs="+", help=".pth, .pt, .safetensors or .onnx exports")
    arguments = parser.parse_args()
    batch = load_file(arguments.batch)["input"]
    logits = {os.path.basename(path): logits_of(path, arguments.architecture, arguments.channels, arguments.classes, batch)
              for path in arguments.files}
    save_file(logits, arguments.out)
    for (a, x), (b, y) in itertools.combinations(logits.items(), 2):
        print(f"{a} and {b}: largest difference {numpy.abs(x - y).max():.3g}")


if __name__ == "__main__":
    main()
