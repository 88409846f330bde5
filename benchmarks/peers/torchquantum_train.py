"""torchquantum's trainer for benchmarks/quantum_scaling.py: the job's circuit on a ``tq.QuantumDevice``
(complex64, torchquantum's only precision) by its functional gates, ``tq.MeasureAll(tq.PauliZ)``, torch
autograd and ``torch.optim.Adam`` on float32 weights, run on the job's batches.

    PYTHON benchmarks/peers/torchquantum_train.py JOB.json

Runs in torchquantum's own environment (see quantum_scaling.py); prints one JSON line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import Clock, PeakMemory, load_job, report


def trainer(job: dict):
    """``step(index) -> loss``: one Adam step on the batch ``index``."""
    import torch
    import torchquantum as tq
    import torchquantum.functional as tqf

    n, ops = job["n_qubits"], job["ops"]
    x, y = torch.tensor(job["x"], dtype=torch.float32), torch.tensor(job["y"])
    readout = torch.tensor(job["readout"], dtype=torch.float32)
    weights = torch.nn.Parameter(torch.tensor(job["init"], dtype=torch.float32))
    opt = torch.optim.Adam([weights], lr=job["lr"])
    measure = tq.MeasureAll(tq.PauliZ)

    def expvals(xb):
        qdev = tq.QuantumDevice(n_wires=n, bsz=len(xb))
        for gate, wires, params in ops:
            # a weight is shared by the batch: shape (1, params); a feature is per sample: (batch,)
            value = xb[:, params[0][1]] if params[0][0] == "x" else weights[[i for _, i in params]].unsqueeze(0)
            if gate == "rx":
                tqf.rx(qdev, wires=wires[0], params=value)
            elif gate == "u3":
                tqf.u3(qdev, wires=wires[0], params=value)
            elif gate == "crx":
                tqf.crx(qdev, wires=list(wires), params=value)
            else:
                raise SystemExit(f"torchquantum_train: gate {gate!r} is not mapped (rx, u3, crx are)")
        return measure(qdev)

    def step(index):
        loss = torch.nn.functional.cross_entropy(expvals(x[index]) @ readout, y[index])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("job")
    args = ap.parse_args()
    import torch
    import torchquantum as tq

    torch.set_num_threads(1)
    job = load_job(args.job)
    warm = trainer(job["warmup"])
    for index in job["warmup"]["batches"]:
        warm(index)
    with PeakMemory() as memory:
        clock = Clock()
        step = trainer(job)
        losses = []
        for index in job["batches"]:
            losses.append(step(index))
            clock.step()
        timing = clock.stop(job["steps_per_epoch"])
    report(losses, timing, memory, f"torchquantum {tq.__version__}, torch {torch.__version__}: autograd, complex64")


if __name__ == "__main__":
    main()
