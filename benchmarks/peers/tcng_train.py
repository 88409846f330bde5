"""TensorCircuit-NG's trainer for benchmarks/quantum_scaling.py: the job's circuit as a ``tc.Circuit`` on
the JAX backend, one jitted step (``jax.vmap`` over the batch, ``jax.value_and_grad`` of the
cross-entropy, Adam as torch.optim.Adam computes it), run on the job's batches. The readout is
``c.probability()`` times the table of Z signs.

    PYTHON benchmarks/peers/tcng_train.py JOB.json --precision double|single

Runs in TensorCircuit-NG's own environment (see quantum_scaling.py); prints one JSON line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import Clock, PeakMemory, load_job, report

BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults


def trainer(job: dict, double: bool):
    """``step(index) -> loss``: one Adam step on the batch ``index``, compiled at its first call (and at
    the first call with another batch size)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import tensorcircuit as tc

    n, ops = job["n_qubits"], job["ops"]
    real = np.float64 if double else np.float32
    # <Z_q> = probabilities @ signs: one pass over the state (one expectation_ps per qubit contracts the
    # state with each Z apart, and trained 6x slower at 12 qubits)
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1  # wire 0: the most significant bit
    signs = jnp.asarray((1 - 2 * bits).astype(real))

    def expvals(w, x):  # one sample: <Z_q> for every wire
        c = tc.Circuit(n)
        for gate, wires, params in ops:
            v = [w[i] if kind == "w" else x[i] for kind, i in params]
            if gate == "rx":
                c.rx(wires[0], theta=v[0])
            elif gate == "u3":
                c.u(wires[0], theta=v[0], phi=v[1], lbd=v[2])
            elif gate == "crx":
                c.crx(wires[0], wires[1], theta=v[0])
            else:
                raise SystemExit(f"tcng_train: gate {gate!r} is not mapped (rx, u3, crx are)")
        return c.probability() @ signs

    readout = jnp.asarray(np.array(job["readout"], dtype=real))

    def loss_of(w, x, y):
        logits = jax.vmap(expvals, in_axes=(None, 0))(w, x) @ readout
        return jnp.mean(jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, y[:, None], -1)[:, 0])

    @jax.jit
    def step(w, m, v, t, x, y):
        loss, g = jax.value_and_grad(loss_of)(w, x, y)
        m = BETAS[0] * m + (1 - BETAS[0]) * g
        v = BETAS[1] * v + (1 - BETAS[1]) * g * g
        step_size = job["lr"] / (1 - BETAS[0] ** t)
        denom = jnp.sqrt(v) / jnp.sqrt(1 - BETAS[1] ** t) + EPS
        return loss, w - step_size * m / denom, m, v

    x, y = np.array(job["x"], dtype=real), np.array(job["y"], dtype=np.int32)
    state = {"w": jnp.asarray(np.array(job["init"], dtype=real)), "t": 0}
    state["m"] = state["v"] = jnp.zeros_like(state["w"])

    def run(index):
        state["t"] += 1
        loss, state["w"], state["m"], state["v"] = step(
            state["w"], state["m"], state["v"], real(state["t"]), x[index], y[index]
        )
        return float(loss)

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("job")
    ap.add_argument("--precision", choices=("double", "single"), default="double")
    args = ap.parse_args()
    import jax

    double = args.precision == "double"
    jax.config.update("jax_enable_x64", double)
    import tensorcircuit as tc

    tc.set_backend("jax")
    tc.set_dtype("complex128" if double else "complex64")
    job = load_job(args.job)
    warm = trainer(job["warmup"], double)  # JAX and XLA set up on a small circuit; each circuit compiles anew
    for index in job["warmup"]["batches"]:
        warm(index)
    with PeakMemory() as memory:
        clock = Clock()
        step = trainer(job, double)
        losses = []
        for index in job["batches"]:
            losses.append(step(index))
            clock.step()
        timing = clock.stop(job["steps_per_epoch"])
    plan = f"TensorCircuit-NG {tc.__version__}, JAX {jax.__version__}: jit(value_and_grad(vmap)), {tc.dtypestr}"
    report(losses, timing, memory, plan)


if __name__ == "__main__":
    main()
