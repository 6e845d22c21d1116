"""Makes the PyTorch checkpoints that InterchangeTests imports (needs torch and safetensors;
the tests do not). Run from the repository root:

    python3 Tests/Fixtures/make_torch_fixtures.py

Writes Tests/Fixtures/torch/: a LeNet-5-half state dict in each common layout (bare, under
'state_dict' with other entries, under 'model', under 'net', DataParallel's 'module.'
prefix), the same as safetensors, a whole pickled module, a pickle that calls os.system, and
a WRN-16-1 state dict in float16 (batch norm buffers, num_batches_tracked); batch.safetensors
holds a fixed input batch and each model's logits on it, computed in float32 from the
weights as stored.
"""
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "reference"))
import dfkd_models  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "torch")


class Payload:
    """What a hostile checkpoint holds: unpickling it would run a shell command."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    batch = torch.randn(4, 1, 32, 32)

    lenet = dfkd_models.make("lenet5-half", 1, 10).eval()
    state = lenet.state_dict()
    save = lambda obj, name: torch.save(obj, os.path.join(OUT, name))
    save(state, "lenet5-half.pth")
    save({"epoch": 7, "state_dict": state, "optimizer": {"lr": 0.1}}, "lenet5-half-under-state_dict.pth")
    save({"model": state}, "lenet5-half-under-model.pth")
    save({"net": state, "acc": 98.5}, "lenet5-half-under-net.pth")
    save({"module." + k: v for k, v in state.items()}, "lenet5-half-dataparallel.pth")
    save(lenet, "lenet5-half-whole-module.pth")
    save({"state_dict": state, "payload": Payload()}, "hostile-global.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(OUT, "lenet5-half.safetensors"))

    wrn = dfkd_models.make("wrn-16-1", 1, 10)
    with torch.no_grad():
        for module in wrn.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.num_batches_tracked.fill_(123)
    wrn.eval()
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in wrn.state_dict().items()}
    save(half, "wrn-16-1-float16.pth")
    # The logits of the weights as stored: float16 rounded, computed in float32.
    wrn.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half.items()})

    with torch.no_grad():
        save_file({"input": batch, "lenet5-half": lenet(batch), "wrn-16-1": wrn(batch)}, os.path.join(OUT, "batch.safetensors"))


if __name__ == "__main__":
    main()
