"""The Clifford-replica noise score of random circuits at 4-20 qubits on a 127-qubit device: by rounding and
by random Cliffords, with its shot and replica standard errors and the seconds per score; beside it the
calibration's estimated success rate (tier 1) and, up to 8 qubits, Elivagar's CNR (2^n histograms, full
device noise on the density matrix) with its time.

    python benchmarks/clifford_score.py --qubits 4,8,12,20 --circuits 2 --replicas 8 --shots 256
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from qiskit_ibm_runtime import fake_provider

from hybrid_nas.quantum.clifford import clifford_noise_score, elivagar_cnr, pauli_noise_model, transpiled_for_replicas
from hybrid_nas.quantum.hardware import transpiled_figures
from hybrid_nas.quantum.space import CircuitSpace

CNR_MAX_QUBITS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="FakeSherbrooke")
    parser.add_argument("--qubits", default="4,8,12,20")
    parser.add_argument("--circuits", type=int, default=2)
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--shots", type=int, default=256)
    args = parser.parse_args()
    backend = getattr(fake_provider, args.backend)()
    start = time.perf_counter()
    pauli_noise_model(backend)
    print(
        f"{args.backend}: {backend.num_qubits} qubits; Pauli noise model built in {time.perf_counter() - start:.2f} s"
    )
    print(f"replicas {args.replicas}, shots {args.shots} per run; score +- shot SE (replica SE)")
    header = "qubits  2q gates  est_fid   round                  s      random                 s     CNR     s"
    print(header)
    rng = np.random.default_rng(0)
    for n in (int(q) for q in args.qubits.split(",")):
        space = CircuitSpace(n_qubits=n, max_layers=2, scope="full")
        for _ in range(args.circuits):
            circuit = space.build(space.sample(rng))
            tqc = transpiled_for_replicas(circuit, backend, seed=0)
            figures = transpiled_figures(tqc, backend, n)
            row = f"{n:6d}  {figures['transpiled_two_qubit_gates']:8.0f}  {figures['est_fidelity']:7.3f}"
            for kind in ("round", "random"):
                s = clifford_noise_score(
                    tqc, backend, kind=kind, replicas=args.replicas, shots=args.shots, method="stabilizer"
                )
                row += f"   {s.score:.3f} +-{s.stderr:.3f} ({s.stderr_replicas:.3f})  {s.seconds:5.1f}"
                assert s.active_qubits >= n
            if n <= CNR_MAX_QUBITS:
                start = time.perf_counter()
                cnr = elivagar_cnr(tqc, backend, replicas=args.replicas, shots=1024)
                row += f"   {cnr:.3f}  {time.perf_counter() - start:5.1f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
