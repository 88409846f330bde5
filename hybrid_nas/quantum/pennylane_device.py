"""``hybrid_nas.qubit``: a PennyLane device that runs a QNode on the package's own statevector simulator.

``qml.device("hybrid_nas.qubit", wires=n)`` (registered through the ``pennylane.plugins`` entry point) turns
each tape into the package's ``Circuit``: its gates are the catalogue's (``hybrid_nas.quantum.gates``; which
PennyLane operation is which gate is read from the catalogue's own PennyLane builders), anything else is
decomposed by PennyLane into them first. A parameter with a batch axis (parameter broadcasting, e.g.
``AngleEmbedding`` of a (batch, n) input) becomes a data feature and a scalar one a weight, so a broadcast
tape is **one** batched simulator run, the way the package's training batches over samples (the fused blocks
and the batch are where its speed comes from). The final states are measured by PennyLane's own
measurement code, so every measurement ``default.qubit`` gives from a state (expectation values, variances,
probabilities, the state, and samples/counts with shots) means the same here.

Derivatives: ``diff_method="backprop"`` (torch: the tape's tensors run through the simulator, so autograd
flows; the memory budget may switch it to the simulator's adjoint kernel, which autograd drives the same
way), and ``diff_method="adjoint"`` (any interface; the simulator's adjoint method, one reverse sweep per
measured output; with ``device_vjp=True`` one sweep per tape, broadcast tapes included).
Mid-circuit measurements, classical shadows and operations without a decomposition into the catalogue are
refused in one line before anything runs. ``c_dtype`` is ``complex128`` (default) or ``complex64``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pennylane as qml
import torch
from pennylane.devices import Device, ExecutionConfig
from pennylane.devices.default_qubit import observable_accepts_analytic, observable_accepts_sampling
from pennylane.devices.preprocess import (
    decompose,
    no_sampling,
    validate_adjoint_trainable_params,
    validate_device_wires,
    validate_measurements,
)
from pennylane.devices.qubit import measure_final_state
from pennylane.exceptions import DeviceError
from pennylane.measurements import (
    ExpectationMP,
    MidMeasureMP,
    ProbabilityMP,
    SampleMeasurement,
    StateMeasurement,
    VarianceMP,
)
from pennylane.transforms import broadcast_expand

from hybrid_nas.quantum.circuit import Circuit, Op
from hybrid_nas.quantum.gates import GATES
from hybrid_nas.quantum.simulator import Simulator, threads_for

NAME = "hybrid_nas.qubit"
PRECISIONS = {"complex128": "double", "complex64": "single"}  # c_dtype -> the simulator's precision
SKIPPED = {"Identity", "Barrier"}  # no effect on the state
DIFFERENTIABLE = (ExpectationMP, VarianceMP, ProbabilityMP)  # real results the adjoint path differentiates


def _native_gates() -> dict[str, str]:
    """PennyLane operation name -> catalogue gate, for every gate whose PennyLane builder (the one
    ``to_pennylane`` uses) is a single operation taking the gate's parameters and wires in order."""
    table = {}
    for name, gate in GATES.items():
        params, wires = [0.1 * (i + 1) for i in range(gate.num_params)], list(range(gate.num_wires))
        with qml.queuing.AnnotatedQueue() as queue:
            gate.pennylane(params, wires)
        ops = queue.queue
        if len(ops) == 1 and np.allclose(ops[0].data, params) and ops[0].wires.tolist() == wires:
            table[ops[0].name] = name
    return table


NATIVE = _native_gates()


def supported_operation(op: qml.operation.Operator) -> bool:
    """Whether the device runs ``op`` as it is (else PennyLane decomposes it)."""
    if op.name in SKIPPED or op.name == "GlobalPhase":
        return True
    if isinstance(op, qml.ops.Controlled) and not all(op.control_values):
        return False
    return op.name in NATIVE


def decomposition(op: qml.operation.Operator) -> list:
    """PennyLane's decomposition, or for an operation that has a matrix but none (BlockEncode,
    DoubleExcitationPlus...) a QubitUnitary of that matrix, which PennyLane decomposes into gates."""
    if op.has_decomposition or not op.has_matrix:
        return op.decomposition()
    return [qml.QubitUnitary(op.matrix(), wires=op.wires)]


@qml.transform
def no_mid_circuit_measurements(tape):
    """Refuses ``qml.measure`` (the simulator has no branching or collapse)."""
    if any(isinstance(op, MidMeasureMP) for op in tape.operations):
        raise DeviceError(f"{NAME} does not support mid-circuit measurements (qml.measure); use default.qubit")
    return (tape,), lambda results: results[0]


@qml.transform
def differentiable_measurements(tape):
    """The adjoint path differentiates expectation values, variances and probabilities."""
    for m in tape.measurements:
        if not isinstance(m, DIFFERENTIABLE):
            raise DeviceError(f"{NAME} computes adjoint derivatives of expval, var and probs, not {type(m).__name__}")
    return (tape,), lambda results: results[0]


@qml.transform
def per_sample_where_needed(tape, jacobian: bool):
    """Splits a broadcast tape into one tape per sample where the adjoint path needs it."""
    # by requires_grad: the tape's trainable_params are only set after the device's preprocessing
    params = tape.get_parameters(trainable_only=False, operations_only=True)
    batched = any(qml.math.ndim(p) > 0 and qml.math.requires_grad(p) for p in params)
    if tape.batch_size and (jacobian or batched):
        return broadcast_expand(tape)
    return (tape,), lambda results: results[0]


def _analytic(m) -> bool:
    return isinstance(m, StateMeasurement) and (
        m.obs is None or observable_accepts_analytic(m.obs, isinstance(m, ExpectationMP))
    )


def _sampled(m) -> bool:
    return isinstance(m, SampleMeasurement) and (m.obs is None or observable_accepts_sampling(m.obs))


@lru_cache(maxsize=64)
def _simulator(circuit: Circuit, batch: int, precision: str, gradient: str) -> Simulator:
    """One plan per circuit structure and batch: a training loop's every step reuses it."""
    return Simulator(circuit, batch, precision, gradient=gradient)


def _translate(tape, params: Sequence) -> tuple[Circuit, list, list, list]:
    """The tape as a ``Circuit`` (wires already standard: 0..n-1), with its weights (scalar parameters),
    data columns (parameters with a batch axis) and global phases; ``params`` are the operations'
    parameters in tape order (tensors that autograd tracks, or plain numbers)."""
    ops: list[Op] = []
    weights: list = []
    data: list = []
    phases: list = []
    k = 0
    for op in tape.operations:
        values, k = params[k : k + len(op.data)], k + len(op.data)
        if op.name in SKIPPED:
            continue
        if op.name == "GlobalPhase":
            phases.append(values[0])
            continue
        sources = []
        for p in values:
            column = data if qml.math.ndim(p) > 0 else weights
            sources.append(("x" if column is data else "w", len(column)))
            column.append(p)
        ops.append(Op(NATIVE[op.name], tuple(int(w) for w in op.wires), tuple(sources)))
    return Circuit(tape.num_wires, tuple(ops), len(data)), weights, data, phases


def _z_words(tape) -> list[list[tuple[float, tuple[int, ...]]]] | None:
    """Every measurement as (coefficient, wires of a Z string) terms, where all are expectation values of
    Pauli-Z strings with constant coefficients (the common case: one <Z_q> per qubit); else None."""
    words = []
    for m in tape.measurements:
        rep = m.obs.pauli_rep if isinstance(m, ExpectationMP) and m.obs is not None else None
        if rep is None or any(qml.math.requires_grad(d) for d in m.obs.data):
            return None
        if any(set(word.values()) - {"Z"} for word in rep):
            return None
        words.append([(float(np.real(c)), tuple(int(w) for w in word)) for word, c in rep.items()])
    return words


@lru_cache(maxsize=256)
def _signs(n: int, wires: tuple[int, ...]) -> torch.Tensor:
    """The eigenvalues of Z on ``wires`` over the 2**n basis states (wire 0 the most significant bit)."""
    index = torch.arange(2**n)
    bits = sum(((index >> (n - 1 - w)) & 1 for w in wires), torch.zeros_like(index))
    return (1 - 2 * (bits % 2)).to(torch.float64)


def _z_expvals(states: torch.Tensor, words, n: int, batch: int | None) -> list[torch.Tensor]:
    """<sum_k c_k Z_{S_k}> of each measurement from one probability vector per sample."""
    probs = states.real**2 + states.imag**2
    out = []
    for terms in words:
        value = sum(c * (probs @ _signs(n, wires).to(probs.dtype)) for c, wires in terms)
        out.append(value if batch else value[0])
    return out


def _column(p, batch: int | None = None) -> torch.Tensor:
    t = p if isinstance(p, torch.Tensor) else torch.as_tensor(np.asarray(p))
    t = t.to(torch.float64) if not t.is_complex() else t.real.to(torch.float64)
    return t if batch is None else t.expand(batch)


def _grads(output: torch.Tensor, leaves: list[torch.Tensor], retain_graph: bool = False) -> list[torch.Tensor]:
    """d output / d leaf for every leaf (zeros where the output does not depend on it)."""
    if not leaves or not output.requires_grad:
        return [torch.zeros_like(leaf) for leaf in leaves]
    grads = torch.autograd.grad(output, leaves, retain_graph=retain_graph, allow_unused=True)
    return [torch.zeros_like(leaf) if g is None else g.detach() for leaf, g in zip(leaves, grads)]


def _threads(tape):
    """One torch thread for small states (the simulator's rule), backward passes included."""
    return threads_for((tape.batch_size or 1) * 2**tape.num_wires)


def _to_numpy(result):
    if isinstance(result, torch.Tensor):
        return result.detach().cpu().numpy()
    if isinstance(result, (tuple, list)):
        return type(result)(_to_numpy(r) for r in result)
    if isinstance(result, dict):
        return {k: _to_numpy(v) for k, v in result.items()}
    return result


class HybridNasQubit(Device):
    """Statevector simulation of PennyLane circuits by the package's torch simulator (see the module's
    docstring). ``wires``: the number of wires or their labels; ``c_dtype``: ``complex128`` or
    ``complex64``; ``seed``: for sampling with shots."""

    def __init__(self, wires=None, shots=None, c_dtype=np.complex128, seed=None):
        super().__init__(wires=wires, shots=shots)
        dtype = str(c_dtype).removeprefix("torch.").removeprefix("<class 'numpy.").removesuffix("'>")
        if dtype not in PRECISIONS:
            raise DeviceError(f"{NAME}: c_dtype must be complex128 or complex64, got {c_dtype!r}")
        self.c_dtype, self._precision = dtype, PRECISIONS[dtype]
        self._rng = np.random.default_rng(seed)

    @property
    def name(self) -> str:
        return NAME

    # ---- configuration ------------------------------------------------------------------------------

    @staticmethod
    def _torch_or_numpy(config: ExecutionConfig, circuit) -> bool:
        """Backprop needs the parameters to be torch tensors (or plain numbers, where nothing is traced)."""
        interface = qml.math.Interface(config.interface) if config.interface is not None else None
        if interface in (qml.math.Interface.AUTO, None) and circuit is not None:
            params = circuit.get_parameters(trainable_only=False)
            return qml.math.get_interface(*params) in ("torch", "numpy") if params else True
        return interface in (qml.math.Interface.TORCH, qml.math.Interface.NUMPY, qml.math.Interface.AUTO, None)

    def supports_derivatives(self, execution_config=None, circuit=None) -> bool:
        if execution_config is None:
            return True
        method = execution_config.gradient_method
        shots = circuit is not None and bool(circuit.shots)
        if method in ("backprop", "best") and not shots and self._torch_or_numpy(execution_config, circuit):
            return True
        if method in ("adjoint", "best") and execution_config.derivative_order == 1 and not shots:
            return circuit is None or all(isinstance(m, DIFFERENTIABLE) for m in circuit.measurements)
        return False

    def supports_vjp(self, execution_config=None, circuit=None) -> bool:
        return execution_config is None or (
            execution_config.gradient_method in ("adjoint", "best")
            and self.supports_derivatives(dataclasses.replace(execution_config, gradient_method="adjoint"), circuit)
        )

    def setup_execution_config(self, config=None, circuit=None) -> ExecutionConfig:
        config = config or ExecutionConfig()
        method = config.gradient_method
        if method == "best":
            shots = circuit is not None and bool(circuit.shots)
            method = "backprop" if not shots and self._torch_or_numpy(config, circuit) else "adjoint"
        updated = {"gradient_method": method}
        if config.use_device_gradient is None:
            updated["use_device_gradient"] = method in ("adjoint", "backprop")
        if config.use_device_jacobian_product is None:
            updated["use_device_jacobian_product"] = False
        if config.grad_on_execution is None:
            updated["grad_on_execution"] = method == "adjoint"
        return dataclasses.replace(config, **updated)

    def preprocess_transforms(self, execution_config=None) -> qml.CompilePipeline:
        config = execution_config or ExecutionConfig()
        program = qml.CompilePipeline()
        program.add_transform(no_mid_circuit_measurements)
        program.add_transform(
            decompose,
            stopping_condition=supported_operation,
            decomposer=decomposition,
            skip_initial_state_prep=False,
            device_wires=self.wires,
            target_gates=set(NATIVE) | SKIPPED | {"GlobalPhase"},
            name=self.name,
        )
        program.add_transform(validate_device_wires, self.wires, name=self.name)
        program.add_transform(
            validate_measurements, analytic_measurements=_analytic, sample_measurements=_sampled, name=self.name
        )
        if config.gradient_method == "backprop":
            program.add_transform(no_sampling, name=f"backprop + {self.name}")
        if config.gradient_method == "adjoint":
            program.add_transform(no_sampling, name=f"adjoint + {self.name}")
            program.add_transform(differentiable_measurements)
            program.add_transform(validate_adjoint_trainable_params)
            # a jacobian of a broadcast tape is per sample, and so is a vjp of a parameter with a batch axis:
            # one tape per sample there, as default.qubit does; a vjp of the weights alone stays one batch
            program.add_transform(per_sample_where_needed, jacobian=not config.use_device_jacobian_product)
        return program

    # ---- execution ----------------------------------------------------------------------------------

    def _run(self, tape, params: Sequence, gradient: str):
        """The tape's measurements (torch tensors) on the state the simulator computes from ``params``."""
        tape = tape.map_to_standard_wires()
        circuit, weights, data, phases = _translate(tape, params)
        n, batch = circuit.n_qubits, tape.batch_size
        w = torch.stack([_column(p) for p in weights]) if weights else torch.zeros(0, dtype=torch.float64)
        x = torch.stack([_column(p, batch) for p in data], -1) if data else torch.zeros(batch or 1, 0)
        sim = _simulator(circuit, batch or 1, self._precision, gradient)
        with _threads(tape):
            states = sim.states(w, sim.encode(x))
            for phi in phases:  # GlobalPhase(phi) is exp(-i phi) on every amplitude
                states = states * torch.exp(-1j * _column(phi)).reshape(-1, 1).to(states.dtype)
            if not tape.shots and (words := _z_words(tape)) is not None:
                results = _z_expvals(states, words, n, batch)
                return results[0] if len(results) == 1 else tuple(results)
            state = states.reshape(-1, *[2] * n) if batch else states.reshape([2] * n)
            return measure_final_state(tape, state, bool(batch), rng=self._rng)

    def execute(self, circuits, execution_config=None):
        results = []
        for tape in circuits:
            params = tape.get_parameters(trainable_only=False, operations_only=True)
            result = self._run(tape, params, "auto")
            traced = any(isinstance(p, torch.Tensor) for p in params)
            results.append(result if traced else _to_numpy(result))
        if self.tracker.active:
            for tape, result in zip(circuits, results):
                self.tracker.update(
                    executions=1, simulations=1, results=result, shots=tape.shots.total_shots, resources=tape.specs
                )
            self.tracker.update(batches=1)
            self.tracker.record()
        return tuple(results)

    def _leaves(self, tape) -> tuple[list, list[torch.Tensor]]:
        """The operations' parameters, the trainable ones as fresh torch leaves (float64, requires_grad)."""
        params = list(tape.get_parameters(trainable_only=False, operations_only=True))
        leaves = []
        for i in tape.trainable_params:
            if i < len(params):  # observables' parameters are not differentiated
                params[i] = _column(params[i]).detach().clone().requires_grad_()
                leaves.append(params[i])
        return params, leaves

    @torch.enable_grad()  # PennyLane's torch boundary calls the device with autograd off
    def _jacobian(self, tape):
        """(results, jacobian) by the simulator's adjoint method: one reverse sweep per measured output."""
        params, leaves = self._leaves(tape)
        result = self._run(tape, params, "adjoint")
        outputs = [result] if len(tape.measurements) == 1 else list(result)
        jac = []
        with _threads(tape):
            for out in outputs:
                rows = [_grads(o, leaves, retain_graph=True) for o in out.reshape(-1)]
                per_param = [torch.stack([r[p] for r in rows]).reshape(out.shape).numpy() for p in range(len(leaves))]
                per_param += [np.zeros(out.shape)] * (len(tape.trainable_params) - len(leaves))  # observables' ones
                jac.append(per_param[0] if len(per_param) == 1 else tuple(per_param))
        return _to_numpy(result), jac[0] if len(outputs) == 1 else tuple(jac)

    def execute_and_compute_derivatives(self, circuits, execution_config=None):
        results, jacs = zip(*(self._jacobian(tape) for tape in circuits)) if circuits else ((), ())
        return tuple(results), tuple(jacs)

    def compute_derivatives(self, circuits, execution_config=None):
        return self.execute_and_compute_derivatives(circuits, execution_config)[1]

    @torch.enable_grad()
    def _vjp(self, tape, cotangents):
        """(results, vjp) by one reverse sweep: the cotangent-weighted sum of the outputs, differentiated."""
        params, leaves = self._leaves(tape)
        result = self._run(tape, params, "adjoint")
        outputs = [result] if len(tape.measurements) == 1 else list(result)
        cotangents = [cotangents] if len(tape.measurements) == 1 else list(cotangents)
        total = sum((torch.as_tensor(np.asarray(c), dtype=o.dtype) * o).sum() for c, o in zip(cotangents, outputs))
        with _threads(tape):
            vjp = [g.numpy() for g in _grads(total, leaves)]
        vjp += [np.array(0.0)] * (len(tape.trainable_params) - len(leaves))
        return _to_numpy(result), tuple(vjp)

    def execute_and_compute_vjp(self, circuits, cotangents, execution_config=None):
        results, vjps = zip(*(self._vjp(t, c) for t, c in zip(circuits, cotangents))) if circuits else ((), ())
        return tuple(results), tuple(vjps)

    def compute_vjp(self, circuits, cotangents, execution_config=None):
        return self.execute_and_compute_vjp(circuits, cotangents, execution_config)[1]
