#!/usr/bin/env python3
"""Writes the PyTorch reference values that the golden tests compare the engine against.

Each case holds its inputs, the output of the op in PyTorch, an upstream gradient w, and the
gradients of sum(output * w) with respect to every input. Run it where torch is installed:

    python3 Tests/Goldens/make_goldens.py

It rewrites Tests/Goldens/ops.json, network.json, distillation.json and binary-network.json; the tests never need
torch.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
# The reference definitions: the binary network and its straight-through sign.
sys.path.insert(0, os.path.join(HERE, "..", "..", "reference"))
import dfkd_models  # noqa: E402


def pack(t):
    t = t.detach().to(torch.float32).contiguous()
    # 9 significant digits hold a float32 exactly.
    return {"shape": list(t.shape), "values": [float(f"{v:.9g}") for v in t.reshape(-1).tolist()]}


def rand(*shape, low=-1.0, high=1.0):
    return (torch.rand(*shape) * (high - low) + low).requires_grad_(True)


def away_from_zero(*shape):
    t = torch.rand(*shape) * 0.9 + 0.1
    sign = torch.where(torch.rand(*shape) < 0.5, -1.0, 1.0)
    return (t * sign).requires_grad_(True)


def case(name, inputs, fn, extra=None):
    out = fn(**inputs)
    outputs = out if isinstance(out, tuple) else (out,)
    upstreams = [torch.rand(o.shape) * 2 - 1 for o in outputs]
    total = sum((o * w).sum() for o, w in zip(outputs, upstreams))
    differentiable = {k: v for k, v in inputs.items() if isinstance(v, torch.Tensor) and v.requires_grad}
    grads = torch.autograd.grad(total, list(differentiable.values()), allow_unused=True)
    entry = {
        "name": name,
        "inputs": {k: pack(v) for k, v in inputs.items() if isinstance(v, torch.Tensor)},
        "outputs": [pack(o) for o in outputs],
        "upstreams": [pack(w) for w in upstreams],
        "gradients": {k: pack(g) for k, g in zip(differentiable, grads) if g is not None},
    }
    if extra:
        entry.update(extra)
    return entry


def batch_norm_train(x, weight, bias):
    running_mean = torch.zeros(x.shape[1]) + 0.1
    running_var = torch.ones(x.shape[1]) * 2
    y = F.batch_norm(x, running_mean, running_var, weight, bias, training=True, momentum=0.1, eps=1e-5)
    batch_norm_train.running = (running_mean, running_var)
    return y


def op_cases():
    cases = []
    x = away_from_zero(2, 3, 4, 5)
    cases.append(case("relu", {"x": x}, lambda x: F.relu(x)))
    cases.append(case("leaky_relu", {"x": away_from_zero(2, 3, 4, 5)}, lambda x: F.leaky_relu(x, 0.2)))
    cases.append(case("tanh", {"x": rand(3, 7)}, lambda x: torch.tanh(x)))
    cases.append(case("sigmoid", {"x": rand(3, 7)}, lambda x: torch.sigmoid(x)))
    cases.append(case("exp", {"x": rand(3, 7)}, lambda x: torch.exp(x)))
    cases.append(case("log", {"x": rand(3, 7, low=0.2, high=3)}, lambda x: torch.log(x)))
    cases.append(case("sqrt", {"x": rand(3, 7, low=0.2, high=3)}, lambda x: torch.sqrt(x)))
    cases.append(case("abs", {"x": away_from_zero(3, 7)}, lambda x: torch.abs(x)))
    cases.append(case("square", {"x": rand(3, 7)}, lambda x: x * x))
    cases.append(case("sign_ste", {"x": rand(3, 7, low=-2, high=2)}, lambda x: dfkd_models.SignStraightThrough.apply(x)))
    cases.append(case("scalar_arithmetic", {"x": rand(3, 7)}, lambda x: (x * 3 + 1) / 2 - 0.5))
    cases.append(case("add_broadcast", {"a": rand(2, 3, 4), "b": rand(3, 1)}, lambda a, b: a + b))
    cases.append(case("subtract", {"a": rand(2, 3), "b": rand(2, 3)}, lambda a, b: a - b))
    cases.append(case("multiply_broadcast", {"a": rand(2, 3, 4), "b": rand(4)}, lambda a, b: a * b))
    cases.append(case("divide", {"a": rand(2, 3), "b": rand(2, 3, low=0.5, high=2)}, lambda a, b: a / b))
    cases.append(case("sum_axis1", {"x": rand(2, 3, 4)}, lambda x: x.sum(dim=1)))
    cases.append(case("mean_axes02_keep", {"x": rand(2, 3, 4)}, lambda x: x.mean(dim=(0, 2), keepdim=True)))
    cases.append(case("mean_all", {"x": rand(2, 3, 4)}, lambda x: x.mean()))
    cases.append(case("softmax", {"x": rand(4, 10, low=-3, high=3)}, lambda x: F.softmax(x, dim=1)))
    cases.append(case("log_softmax", {"x": rand(4, 10, low=-3, high=3)}, lambda x: F.log_softmax(x, dim=1)))
    cases.append(case("l2_normalize", {"x": rand(4, 6)}, lambda x: F.normalize(x, dim=1)))
    cases.append(case("matmul", {"a": rand(3, 5), "b": rand(5, 4)}, lambda a, b: a @ b))
    cases.append(case("matmul_bt", {"a": rand(3, 5), "b": rand(4, 5)}, lambda a, b: a @ b.t()))
    cases.append(case("linear", {"x": rand(4, 6), "weight": rand(3, 6), "bias": rand(3)},
                      lambda x, weight, bias: F.linear(x, weight, bias)))
    cases.append(case("conv2d_3x3_pad1_bias", {"x": rand(2, 3, 8, 8), "weight": rand(16, 3, 3, 3), "bias": rand(16)},
                      lambda x, weight, bias: F.conv2d(x, weight, bias, stride=1, padding=1)))
    cases.append(case("conv2d_16_to_32_stride2", {"x": rand(2, 16, 9, 9), "weight": rand(32, 16, 3, 3)},
                      lambda x, weight: F.conv2d(x, weight, None, stride=2, padding=1)))
    cases.append(case("conv2d_5x5_6ch", {"x": rand(2, 6, 14, 14), "weight": rand(16, 6, 5, 5), "bias": rand(16)},
                      lambda x, weight, bias: F.conv2d(x, weight, bias)))
    cases.append(case("conv2d_groups2", {"x": rand(2, 8, 6, 6), "weight": rand(12, 4, 3, 3)},
                      lambda x, weight: F.conv2d(x, weight, None, padding=1, groups=2)))
    cases.append(case("conv2d_depthwise", {"x": rand(2, 16, 6, 6), "weight": rand(16, 1, 3, 3), "bias": rand(16)},
                      lambda x, weight, bias: F.conv2d(x, weight, bias, padding=1, groups=16)))
    cases.append(case("batch_norm_train", {"x": rand(4, 3, 5, 5, low=-2, high=3), "weight": rand(3), "bias": rand(3)},
                      batch_norm_train))
    running_mean, running_var = batch_norm_train.running
    cases[-1]["running_mean"] = pack(running_mean)
    cases[-1]["running_var"] = pack(running_var)
    cases.append(case("batch_norm_eval", {"x": rand(4, 3, 5, 5), "weight": rand(3), "bias": rand(3),
                                          "running_mean": torch.tensor([0.1, -0.3, 0.2]), "running_var": torch.tensor([0.5, 1.5, 2.0])},
                      lambda x, weight, bias, running_mean, running_var:
                      F.batch_norm(x, running_mean, running_var, weight, bias, training=False, eps=1e-5)))
    cases.append(case("batch_norm_no_affine", {"x": rand(4, 5, 3, 3)},
                      lambda x: F.batch_norm(x, None, None, None, None, training=True, eps=1e-5)))
    cases.append(case("channel_moments", {"x": rand(4, 3, 5, 5, low=-2, high=3)},
                      lambda x: (x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False))))
    distinct = (torch.randperm(2 * 3 * 6 * 6).float().reshape(2, 3, 6, 6) / 216).requires_grad_(True)
    cases.append(case("max_pool2", {"x": distinct}, lambda x: F.max_pool2d(x, 2)))
    cases.append(case("avg_pool3_s2_p1", {"x": rand(2, 3, 7, 7)}, lambda x: F.avg_pool2d(x, 3, stride=2, padding=1)))
    cases.append(case("global_avg_pool", {"x": rand(2, 3, 4, 5)}, lambda x: x.mean(dim=(2, 3))))
    cases.append(case("upsample_nearest2", {"x": rand(2, 3, 3, 4)}, lambda x: F.interpolate(x, scale_factor=2, mode="nearest")))
    cases.append(case("concat_axis0", {"a": rand(2, 3), "b": rand(4, 3)}, lambda a, b: torch.cat([a, b], dim=0)))
    cases.append(case("concat_axis1", {"a": rand(2, 3), "b": rand(2, 2)}, lambda a, b: torch.cat([a, b], dim=1)))
    cases.append(case("flatten_reshape", {"x": rand(2, 3, 2, 2)}, lambda x: x.flatten(1).reshape(4, 6)))
    labels = [1, 4, 1, 0]
    cases.append(case("class_scale_shift", {"x": rand(4, 3, 2, 2), "scale": rand(5, 3), "shift": rand(5, 3)},
                      lambda x, scale, shift: scale[labels][:, :, None, None] * x + shift[labels][:, :, None, None],
                      {"labels": labels}))
    indices = [2, 0, 2, 4]
    cases.append(case("embedding", {"table": rand(5, 3)}, lambda table: F.embedding(torch.tensor(indices), table),
                      {"labels": indices}))
    targets = [3, 0, 9, 3]
    cases.append(case("cross_entropy", {"logits": rand(4, 10, low=-3, high=3)},
                      lambda logits: F.cross_entropy(logits, torch.tensor(targets)), {"labels": targets}))
    cases.append(case("kd_divergence_t4", {"student": rand(4, 10, low=-3, high=3), "teacher": rand(4, 10, low=-3, high=3)},
                      lambda student, teacher: F.kl_div(F.log_softmax(student / 4, dim=1), F.softmax(teacher / 4, dim=1),
                                                        reduction="batchmean") * 16))
    cases.append(case("mse", {"a": rand(3, 4), "b": rand(3, 4)}, lambda a, b: F.mse_loss(a, b)))
    cases.append(case("l1", {"a": away_from_zero(3, 4), "b": torch.zeros(3, 4)}, lambda a, b: F.l1_loss(a, b)))
    # Shapes the engine's own convolution kernels take (a kernel covering its whole input; a
    # few-channel input, its output rows one, two or three vectors of eight wide) and oneDNN's
    # Winograd kernels, drawn from a seed of their own so that every case above and below
    # keeps its values.
    with torch.random.fork_rng():
        torch.manual_seed(1000)
        cases.append(case("conv2d_covers_input", {"x": rand(4, 16, 5, 5), "weight": rand(12, 16, 5, 5), "bias": rand(12)},
                          lambda x, weight, bias: F.conv2d(x, weight, bias)))
        cases.append(case("conv2d_1ch_5x5_pad2", {"x": rand(3, 1, 12, 12), "weight": rand(6, 1, 5, 5), "bias": rand(6)},
                          lambda x, weight, bias: F.conv2d(x, weight, bias, padding=2)))
        cases.append(case("conv2d_3ch_wide", {"x": rand(2, 3, 5, 21), "weight": rand(4, 3, 3, 3)},
                          lambda x, weight: F.conv2d(x, weight, None, padding=1)))
        cases.append(case("conv2d_few_outputs", {"x": rand(2, 16, 9, 10), "weight": rand(2, 16, 3, 3), "bias": rand(2)},
                          lambda x, weight, bias: F.conv2d(x, weight, bias, padding=1)))
        # Winograd's shape: 3x3 at stride 1 on channels in multiples of 16.
        cases.append(case("conv2d_32ch_3x3", {"x": rand(2, 32, 8, 8), "weight": rand(32, 32, 3, 3), "bias": rand(32)},
                          lambda x, weight, bias: F.conv2d(x, weight, bias, padding=1)))
    return cases


class SmallNet(torch.nn.Module):
    """conv(3->8) -> BN -> ReLU -> maxpool -> conv(8->16, stride 2) -> BN -> LeakyReLU -> GAP -> linear(16->5)"""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(16)
        self.fc = torch.nn.Linear(16, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.leaky_relu(self.bn2(self.conv2(x)), 0.2)
        return self.fc(x.mean(dim=(2, 3)))


def supervised_contrast(tf, sf, labels, tau=0.07):
    """CPSC-DFKD's Eq. 8 over the 2n normalised teacher and student vectors."""
    v = torch.cat([F.normalize(tf, dim=1), F.normalize(sf, dim=1)], 0)
    y = torch.cat([labels, labels])
    sim = v @ v.t() / tau
    self_mask = torch.eye(len(y), dtype=torch.bool)
    log_prob = sim - torch.logsumexp(sim.masked_fill(self_mask, float("-inf")), dim=1, keepdim=True)
    positives = (y[:, None] == y[None, :]) & ~self_mask
    return -((log_prob * positives).sum(1) / positives.sum(1)).mean()


def bn_statistics(x, running_mean, running_var, form):
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=False)
    if form == "norms":
        return torch.norm(mean - running_mean, 2) + torch.norm(var - running_var, 2)
    return ((mean - running_mean) ** 2).sum() + ((var.sqrt() - running_var.sqrt()) ** 2).sum()


def distillation_cases():
    labels = torch.tensor([0, 1, 0, 2, 1, 0])
    t, s = rand(6, 5) * 3, rand(6, 5) * 3
    t, s = t.detach().requires_grad_(True), s.detach().requires_grad_(True)
    extra = {"labels": labels.tolist()}
    cases = [
        case("kd_tau4", {"t": t, "s": s}, lambda t, s: F.kl_div(F.log_softmax(s / 4, 1), F.softmax(t / 4, 1), reduction="batchmean") * 16),
        case("log_l2", {"t": t, "s": s}, lambda t, s: torch.log(torch.norm(t - s, 2))),
        case("cross_entropy", {"s": s}, lambda s: F.cross_entropy(s, labels), extra),
        case("one_hot", {"t": t}, lambda t: F.cross_entropy(t, t.argmax(1))),
        case("information_entropy", {"t": t}, lambda t: (F.softmax(t, 1).mean(0) * torch.log(F.softmax(t, 1).mean(0))).sum()),
        case("activation", {"f": rand(6, 4)}, lambda f: -f.abs().mean()),
        case("l1", {"t": t, "s": s}, lambda t, s: (t - s).abs().mean()),
        case("contrastive", {"tf": rand(6, 4), "sf": rand(6, 4)}, lambda tf, sf: supervised_contrast(tf, sf, labels), extra),
    ]
    x = rand(4, 3, 2, 2) * 2
    running_mean, running_var = torch.tensor([0.1, -0.2, 0.3]), torch.tensor([0.5, 1.5, 1.0])
    stats = {"running_mean": pack(running_mean), "running_var": pack(running_var)}
    for form in ("norms", "squares"):
        cases.append(case(f"bn_statistics_{form}", {"x": x}, lambda x, form=form: bn_statistics(x, running_mean, running_var, form), stats))
    # The published forms of the entropy and activation terms (DAFL's code, GIP's Eq. 12 and 13).
    mean_prediction = lambda t: F.softmax(t, 1).mean(0)
    cases += [
        case("information_entropy_sum_log10", {"t": t}, lambda t: (mean_prediction(t) * torch.log10(mean_prediction(t))).sum()),
        case("information_entropy_mean_ln", {"t": t}, lambda t: (mean_prediction(t) * torch.log(mean_prediction(t))).sum() / t.shape[1]),
        case("activation_l1", {"f": rand(6, 4)}, lambda f: -f.abs().sum(1).mean()),
        case("mse", {"t": t, "s": s}, lambda t, s: F.mse_loss(s, t)),
    ]
    # Its own generator, so that adding the case left every other case's inputs as they were.
    images = (torch.rand(3, 2, 5, 6, generator=torch.Generator().manual_seed(7)) * 4 - 1).requires_grad_(True)
    cases.append(case("total_variation", {"x": images}, total_variation))
    return cases


def total_variation(x):
    """Per image, the mean absolute difference to the right and downward neighbours over the
    (H-1) x (W-1) pixels that have both (the engine's 2x2 difference kernels); batch mean."""
    corner = x[:, :, :-1, :-1]
    across, down = x[:, :, :-1, 1:] - corner, x[:, :, 1:, :-1] - corner
    count = 2 * corner[0].numel()
    return ((across.abs().sum((1, 2, 3)) + down.abs().sum((1, 2, 3))) / count).mean()


def network_case():
    x = torch.rand(6, 3, 12, 12) * 2 - 1
    labels = [0, 1, 2, 3, 4, 0]
    out = {"input": pack(x), "labels": labels}
    for optimizer_name in ["sgd", "adam"]:
        torch.manual_seed(1)
        net = SmallNet()
        if optimizer_name == "sgd":
            optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
        else:
            optimizer = torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-4)
        out["initial"] = {k: pack(v) for k, v in net.state_dict().items() if v.dtype == torch.float32}
        steps = []
        for _ in range(2):
            optimizer.zero_grad()
            logits = net(x)
            loss = F.cross_entropy(logits, torch.tensor(labels))
            loss.backward()
            grads = {k: pack(p.grad) for k, p in net.named_parameters()}
            optimizer.step()
            steps.append({"logits": pack(logits), "loss": float(loss.detach()), "gradients": grads,
                          "after": {k: pack(v) for k, v in net.state_dict().items() if v.dtype == torch.float32}})
        out[optimizer_name] = steps
    return out


def binary_network_case():
    """A narrow binary ResNet (reference/dfkd_models.py's BinaryResNet, widths 2-4-4-8) in
    training mode, with binary and with real weights: logits, loss and every gradient. The
    draw is repeated until every sign's input is at least 1e-4 from 0, so that rounding
    (about 1e-6 here, on any CPU) cannot flip a sign; a batch of two 16 x 16 images keeps the
    values few enough for such a draw. Weights are exact, so their signs and clips are too."""
    labels = [0, 3]
    for seed in range(100):
        torch.manual_seed(100 + seed)
        x = torch.rand(2, 3, 16, 16) * 2 - 1
        net = dfkd_models.BinaryResNet(3, 5, binary_weights=True, widths=(2, 4, 4, 8))
        with torch.no_grad():
            for name, p in net.named_parameters():
                if name.endswith("shift"):
                    p.uniform_(-0.3, 0.3)
                elif name.endswith("slope"):
                    p.uniform_(0.1, 0.4)
                elif name.endswith("conv.weight"):
                    p.mul_(8)  # some weights beyond the clip at +-1
        margins = []
        hooks = [m.register_forward_pre_hook(lambda m, inputs: margins.append((inputs[0] + m.input_shift).abs().min().item()))
                 for m in net.modules() if isinstance(m, dfkd_models.BinaryUnit)]
        state = {k: pack(v) for k, v in net.state_dict().items() if v.dtype == torch.float32}
        out = {"input": pack(x), "labels": labels, "initial": state}
        for binary in (True, False):
            for m in net.modules():
                if isinstance(m, dfkd_models.BinaryUnit):
                    m.binary_weights = binary
            net.load_state_dict({k: torch.tensor(v["values"]).view(v["shape"]) for k, v in state.items()}, strict=False)
            net.zero_grad()
            inputs = x.clone().requires_grad_(True)
            logits = net(inputs)
            loss = F.cross_entropy(logits, torch.tensor(labels))
            loss.backward()
            out["binary_weights" if binary else "real_weights"] = {
                "logits": pack(logits), "loss": float(loss.detach()), "input_gradient": pack(inputs.grad),
                "gradients": {k: pack(p.grad) for k, p in net.named_parameters()}}
        for h in hooks:
            h.remove()
        if min(margins) >= 1e-4:
            out["seed"] = 100 + seed
            return out
    raise RuntimeError("no draw keeps every sign's input 1e-4 from 0")


if __name__ == "__main__":
    with open(os.path.join(HERE, "ops.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": op_cases()}, f)
    with open(os.path.join(HERE, "network.json"), "w") as f:
        json.dump({"torch": torch.__version__, **network_case()}, f)
    with open(os.path.join(HERE, "distillation.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": distillation_cases()}, f)
    with open(os.path.join(HERE, "binary-network.json"), "w") as f:
        json.dump({"torch": torch.__version__, **binary_network_case()}, f)
    print("wrote ops.json, network.json, distillation.json and binary-network.json in", HERE)
