"""Training and scoring circuits through a PennyLane QNode on any installed device (``--simulator NAME``):
the device names PennyLane knows, a check that a device trains a space's gates correctly, and <Z> of a
batch as float64 torch tensors (torch interface, the device's best diff method, the batch broadcast)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points

import numpy as np
import torch

from hybrid_nas.engine.errors import ConfigError, did_you_mean
from hybrid_nas.quantum.circuit import Circuit, Op, encoder_stages, to_pennylane
from hybrid_nas.quantum.gates import GATES

PACKAGE_SIMULATOR = "hybrid_nas"  # the package's own simulator, called directly (no QNode)


@functools.cache
def installed_devices() -> tuple[str, ...]:
    """The device names ``qml.device`` accepts: PennyLane's own and every installed plugin's entry point."""
    return tuple(sorted({e.name for e in entry_points(group="pennylane.plugins")}))


def check_simulator(name: str) -> None:
    """``name`` is the package's simulator or an installed PennyLane device; else one line naming them."""
    if name != PACKAGE_SIMULATOR and name not in installed_devices():
        choices = (PACKAGE_SIMULATOR, *installed_devices())
        raise ConfigError(
            f"unknown --simulator {name!r}{did_you_mean(name, choices)}: {PACKAGE_SIMULATOR} (the package's own) "
            f"or an installed PennyLane device: {', '.join(installed_devices())}"
        )


@contextmanager
def float64() -> Iterator[None]:
    """Some devices (lightning.qubit) hand back Python floats, which torch would make float32: this makes
    them float64, as the package's simulator computes."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


class QNodeExpvals:
    """``f(weights, x) -> (batch, n_qubits)`` <Z_q> of ``circuit`` on PennyLane device ``device``; call it
    (forward and backward) inside ``float64()``."""

    def __init__(self, circuit: Circuit, device: str):
        self.qnode = to_pennylane(circuit, device, interface="torch", diff_method="best")

    def __call__(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.qnode(weights, x), -1)


def probe_circuit(space) -> Circuit:
    """One circuit with every gate a ``CircuitSpace`` may place: each encoder's data gates, each rotation
    and each entangler's gate, so a device that trains it trains every candidate."""
    ops: list[Op] = []
    n_features = 0
    for encoder in space["encoder"].options:
        stages, width = encoder_stages(encoder, space.n_qubits, space.n_features)
        ops += sum(stages, [])
        n_features = max(n_features, width)
    gates: list[tuple[str, tuple[int, ...]]] = [(g, (0,)) for g in space.scope.rotations]
    gates += [(e.rpartition("_")[0], (0, 1)) for e in space.scope.entanglers]
    k = 0
    for gate, wires in gates:
        n = GATES[gate].num_params
        ops.append(Op(gate, wires, tuple(("w", k + i) for i in range(n))))
        k += n
    return Circuit(space.n_qubits, tuple(ops), n_features)


def check_device_trains(device: str, circuit: Circuit) -> None:
    """One forward and backward pass of ``circuit`` on ``device``, its <Z> checked against the package's
    simulator: a device that cannot run or differentiate the gates, or computes other values, is one line
    now rather than a failed trial per candidate."""
    from hybrid_nas.quantum.simulator import Simulator

    rng = np.random.default_rng(0)
    w = torch.tensor(rng.uniform(-np.pi, np.pi, circuit.n_weights), requires_grad=True)
    x = torch.tensor(rng.uniform(0, np.pi, (2, circuit.n_features)))
    try:
        with float64(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failing device warns first; its error is the one line said
            out = QNodeExpvals(circuit, device)(w, x)
            out.sum().backward()
    except Exception as e:  # noqa: BLE001 - a plugin raises what it raises: any failure is one line
        line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"--simulator {device!r} cannot train these circuits: {line}") from None
    sim = Simulator(circuit, len(x))
    with torch.no_grad():
        reference = sim.expvals(w.detach(), sim.encode(x.numpy()))
    gap = float((out.detach() - reference).abs().max())
    if not gap < 1e-6:
        raise ConfigError(
            f"--simulator {device!r} computes other <Z> than the package's simulator on these circuits "
            f"(max difference {gap:.3g}): it does not simulate them exactly"
        )
