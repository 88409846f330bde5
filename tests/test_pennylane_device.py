import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pennylane as qml
import pytest
import torch
from pennylane import numpy as pnp
from pennylane.exceptions import DeviceError

from hybrid_nas.quantum.pennylane_device import NAME, NATIVE, HybridNasQubit


def template_qnode(device: str, n: int, diff_method: str = "backprop", interface: str = "torch", **kwargs):
    @qml.qnode(qml.device(device, wires=n), interface=interface, diff_method=diff_method, **kwargs)
    def f(w, x):
        qml.AngleEmbedding(x, wires=range(n))
        qml.StronglyEntanglingLayers(w, wires=range(n))
        return [qml.expval(qml.PauliZ(q)) for q in range(n)]

    return f


def values_and_grads(f, w0, x0):
    """<Z_q> (batch, n) and the gradients of a loss that weighs every output differently, by torch."""
    w, x = torch.tensor(w0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    out = torch.stack(f(w, x), -1)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
    assert w.grad is not None and x.grad is not None
    return out.detach().numpy(), w.grad.numpy(), x.grad.numpy()


@pytest.mark.parametrize(
    "n, diff_method, kwargs",
    [
        (3, "backprop", {}),
        (8, "backprop", {}),
        (3, "adjoint", {}),
        (8, "adjoint", {"device_vjp": True}),
    ],
)
def test_templates_broadcast_over_a_batch_match_default_qubit(n, diff_method, kwargs):
    rng = np.random.default_rng(n)
    w0 = rng.uniform(-np.pi, np.pi, qml.StronglyEntanglingLayers.shape(2, n))
    x0 = rng.uniform(0, np.pi, (5, n))
    ours = values_and_grads(template_qnode(NAME, n, diff_method, **kwargs), w0, x0)
    reference = values_and_grads(template_qnode("default.qubit", n), w0, x0)
    assert ours[0].shape == (5, n) and np.abs(reference[1]).max() > 1e-2  # real gradients, not zeros
    for got, want in zip(ours, reference):
        assert np.allclose(got, want, atol=1e-8, rtol=0)


def test_a_broadcast_tape_is_one_execution():
    n, f = 4, template_qnode(NAME, 4)
    rng = np.random.default_rng(0)
    w, x = torch.tensor(rng.uniform(size=(1, n, 3))), torch.tensor(rng.uniform(size=(16, n)))
    with qml.Tracker(f.device) as tracker:
        out = torch.stack(f(w, x), -1)
    assert out.shape == (16, n) and tracker.totals["executions"] == 1  # not one per sample


def test_autograd_and_numpy_interfaces_run_through_adjoint_and_plain_execution():
    n = 3
    rng = np.random.default_rng(1)
    w0 = rng.uniform(-np.pi, np.pi, qml.StronglyEntanglingLayers.shape(2, n))
    x0 = rng.uniform(0, np.pi, n)

    def scalar(device, interface):
        g = template_qnode(device, n, "best", interface)
        return lambda w: qml.math.stack(g(w, x0)).sum()

    ours, reference = scalar(NAME, "autograd"), scalar("default.qubit", "autograd")
    w = pnp.array(w0, requires_grad=True)
    assert np.allclose(qml.grad(ours)(w), qml.grad(reference)(w), atol=1e-8)
    got = template_qnode(NAME, n, None, "numpy")(w0, x0)
    assert isinstance(got[0], np.ndarray) and np.allclose(got, template_qnode("default.qubit", n)(w0, x0))


def other_measurements(dev):
    """Gates outside the catalogue (Toffoli, Rot, a QubitUnitary, SWAP) and measurements besides <Z>."""

    @qml.qnode(dev, interface="torch", diff_method="backprop" if dev.name == NAME else "best")
    def f(theta):
        qml.Hadamard(0)
        qml.Rot(theta[0], theta[1], theta[2], wires=1)
        qml.Toffoli(wires=[0, 1, 2])
        qml.QubitUnitary(qml.matrix(qml.CRot(0.3, 0.4, 0.5, wires=[0, 1])), wires=[2, 0])
        qml.SWAP(wires=[1, 2])
        return (
            qml.expval(qml.PauliX(0) @ qml.PauliY(2)),
            qml.expval(0.5 * qml.PauliZ(1) - 0.3 * qml.PauliX(2)),
            qml.var(qml.PauliY(1)),
            qml.probs(wires=[2, 0]),
            qml.state(),
        )

    return f


def test_gates_outside_the_catalogue_are_decomposed_and_agree():
    assert {"RX", "U3", "CNOT", "C(U3)"} <= set(NATIVE) and "Toffoli" not in NATIVE
    theta0 = np.array([0.4, -1.1, 2.3])
    results = []
    for dev in (HybridNasQubit(wires=3), qml.device("default.qubit", wires=3)):
        theta = torch.tensor(theta0, requires_grad=True)
        out = other_measurements(dev)(theta)
        loss = out[0] + out[1] + out[2] + (out[3] * torch.arange(4.0, dtype=torch.float64)).sum()
        loss.backward()
        results.append([o.detach().numpy() for o in out] + [theta.grad.numpy()])
    for got, want in zip(*results):
        assert np.allclose(got, want, atol=1e-8, rtol=0)  # the state too, global phase included
    assert np.abs(results[1][-1]).max() > 1e-2


def test_shots_sample_and_count():
    dev = HybridNasQubit(wires=2, seed=3)

    @qml.set_shots(2000)
    @qml.qnode(dev)
    def f():
        qml.PauliX(0)
        qml.Hadamard(1)
        return qml.sample(wires=[0]), qml.counts(wires=[0]), qml.expval(qml.PauliX(1)), qml.expval(qml.PauliZ(1))

    samples, counts, x1, z1 = f()
    assert samples.shape == (2000, 1) and (samples == 1).all() and counts == {"1": 2000}
    assert x1 == 1.0 and abs(z1) < 0.1  # H|0> is the +1 eigenstate of X; Z's estimate scatters about 0


@pytest.mark.parametrize(
    "qfunc, message",
    [
        (lambda: qml.classical_shadow(wires=[0]), "not accepted"),
        (lambda: (qml.measure(0), qml.expval(qml.PauliZ(1)))[1], "mid-circuit measurements"),
    ],
)
def test_an_unsupported_measurement_is_one_clear_error(qfunc, message):
    f = qml.set_shots(qml.QNode(lambda: (qml.Hadamard(0), qfunc())[1], HybridNasQubit(wires=2)), 10)
    with pytest.raises(DeviceError, match=message) as err:
        f()
    assert "\n" not in str(err.value) and NAME in str(err.value)


def test_single_precision_and_a_bad_dtype():
    n, rng = 4, np.random.default_rng(2)
    w, x = rng.uniform(-np.pi, np.pi, (2, n, 3)), rng.uniform(0, np.pi, (3, n))
    single = qml.device(NAME, wires=n, c_dtype=np.complex64)
    assert single.c_dtype == "complex64"
    f = template_qnode(NAME, n)
    f_single = qml.QNode(f.func, single, interface="torch", diff_method="backprop")
    got = torch.stack(f_single(torch.tensor(w), torch.tensor(x)), -1)
    want = torch.stack(f(torch.tensor(w), torch.tensor(x)), -1)
    assert got.dtype == torch.float32 and np.allclose(got.numpy(), want.numpy(), atol=1e-5)
    with pytest.raises(DeviceError, match="c_dtype must be complex128 or complex64"):
        qml.device(NAME, wires=n, c_dtype=np.float32)


def test_the_device_resolves_through_the_plugin_entry_point():
    (entry,) = [e for e in importlib.metadata.entry_points(group="pennylane.plugins") if e.name == NAME]
    assert entry.load() is HybridNasQubit
    dev = qml.device(NAME, wires=["a", "b"])
    assert isinstance(dev, HybridNasQubit) and dev.name == NAME

    @qml.qnode(dev)
    def bell():
        qml.Hadamard("a")
        qml.CNOT(wires=["a", "b"])
        return qml.probs(wires=["b", "a"])

    assert np.allclose(bell(), [0.5, 0, 0, 0.5])


# The one group of PennyLane's suite out of scope: backprop runs through torch, so autograd parameters get
# the adjoint method instead (benchmarks/README.md, "the hybrid_nas.qubit PennyLane device").
OUT_OF_SCOPE = "not (test_gradients_autograd and backprop)"


@pytest.mark.slow
@pytest.mark.parametrize("shots", [None, 10000])
def test_pennylane_device_suite_passes(shots, tmp_path):
    suite = Path(qml.__file__).parent / "devices" / "tests"
    command = [sys.executable, "-m", "pytest", str(suite), "--device", NAME, "-q", "-p", "no:cacheprovider"]
    command += ["-k", OUT_OF_SCOPE, "--rootdir", str(tmp_path), "-o", "addopts="]
    if shots:
        command += ["--shots", str(shots)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0, done.stdout[-3000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 300, summary  # the suite ran, not a collection that found nothing
