"""The PQC gate-placement search space (issue 3): circuits, PennyLane/Qiskit builders, noise-aware evaluation."""
