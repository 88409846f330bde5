"""The package's own training path: a torch statevector simulator of a ``Circuit``, batched over samples.

A circuit is cut into *blocks*: runs of gates on at most ``k`` qubits (greedy fusion, as qsim and
qulacs fuse). Each block becomes one 2^k x 2^k matrix per step, per sample where a gate reads data, and
is applied to the whole batch of states by one (batched) matmul. The plan picks ``k`` per circuit:

- **fused** (``k = n``): every run of gates between data gates is one 2^n x 2^n unitary. At a few qubits
  a step costs per-op overhead, not arithmetic, and this plan has the fewest ops; its matrix grows as
  4^n, so it loses once 2^n nears the batch.
- **blocks** (``k = 4``): no 2^n x 2^n matrix is ever built; memory is a few batches of states.

Measured here (one thread, batch 64, RX encoding + 2 x (U3 on every qubit + CRX ring), samples/s): with
the analytic node below, at 5 qubits fused 54-79k vs blocks of 4 27-42k, at 6 qubits 12.6k vs 27.6k;
blocks of 4 beat blocks of 2 or 3 at 6 to 12 qubits (measured before it) and at 16 (adjoint on buffers:
38 vs 29 and 16 samples/s). So the plan is fused up to 5 qubits
and blocks of 4 beyond.

Every gate type's matrices come from its exact Fourier form (entries = C @ exp(i F @ params): two matmuls
and an exp for all its gates). The blocks of weight-only gates are one autograd node (``analytic``): their
gates grouped into layers of disjoint wires, each layer one entrywise product, the block the product of its
layers, and the gradient written out (prefix products and the layers' unitarity), in NumPy, whose calls cost
a fraction of torch's at these sizes; where the whole circuit after the data is one such block (the fused
plan, on the CPU) the states' matmul and <Z> join the node, so autograd sees one node for the circuit. A
block that reads data (re-uploading) is built per sample through autograd: one gather embeds each gate in
the block's K x K and pairwise batched matmuls multiply them.

Gradients: **backprop** (torch autograd keeps every intermediate batch of states), **buffered** (a custom
autograd function from the encoded states straight to <Z> that keeps every block's input state in a
buffer of its own, reused by every step) or **adjoint** (the same function keeping the final states only:
backward walks the blocks in reverse, recovering each block's input states by its inverse). Both custom
passes run on a workspace of buffers (``layout``): a fresh 64 MiB tensor costs ~30 ms of page faults
against ~4 ms for a pass over one, so they allocate no state after the first step, and they track the
qubits' order in memory instead of restoring it (a block's wires contiguous in any order are one matmul on
views; else the state is rotated once to bring them first). Their backward pass carries the conjugate of
the states' gradient, which moves back through a block by the matrix's transpose, so no pass reads a
conjugated state (torch copied each transposed, 2-3x a pass). They agree with backprop to 1e-10 (tested),
for the weights and for the data; a second derivative (a Hessian) needs backprop and is refused elsewhere
in one line. ``auto`` takes backprop under 2^14 amplitudes per batch (8 qubits at batch 64), else buffered
while its states fit the memory budget, else adjoint: measured (c128, batch 64, one forward and backward
pass, ms) backprop / buffered / adjoint 2.9 / 2.4 / 2.7 at 8 qubits, 44.7 / 30.4 / 35.0 at 12, 260 / 169 /
210 at 14, 3,983 / 617 / 850 at 16. A circuit whose adjoint run does not fit the memory free on its device
is refused in one line before anything is allocated.

The data encoder in front of the first trainable gate runs once per data set when its states fit the
budget, else once per batch (as a product state when it has only one-qubit gates). PennyLane and Qiskit
stay the references every plan is tested against (to 1e-6).
"""

from hybrid_nas.quantum.simulator.kernels import apply, matrix_grad
from hybrid_nas.quantum.simulator.memory import available_memory, threads_for
from hybrid_nas.quantum.simulator.plan import BLOCK_QUBITS, Block, GateMatrices, partition
from hybrid_nas.quantum.simulator.statevector import GRADIENTS, PRECISIONS, Encoded, Simulator

__all__ = [
    "BLOCK_QUBITS",
    "GRADIENTS",
    "PRECISIONS",
    "Block",
    "Encoded",
    "GateMatrices",
    "Simulator",
    "apply",
    "available_memory",
    "matrix_grad",
    "partition",
    "threads_for",
]
