"""The PQC gate-placement search space: circuits, PennyLane/Qiskit builders, noise-aware evaluation."""
