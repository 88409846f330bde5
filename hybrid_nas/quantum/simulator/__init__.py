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

Gradients: **backprop** (torch autograd keeps every intermediate batch of states) or **adjoint** (a
custom autograd function from the encoded states straight to <Z>: backward walks the blocks in reverse,
recovering each block's input states by its inverse). The adjoint pass runs on a workspace of buffers
reused by every step (``layout``): a fresh 64 MiB tensor costs ~30 ms of page faults against ~4 ms for
a pass over one, so it allocates no state after the first step, and it tracks the qubits' order in
memory instead of restoring it (a block's wires contiguous in any order are one matmul on views; else the
state is rotated once to bring them first). They agree to 1e-10 (tested), for the weights and for the
data. ``auto`` takes backprop while it fits the memory budget and a batch is under 2^21 amplitudes, else
the adjoint pass: measured (c128, batch 64, samples/s) backprop / adjoint 10.9k / 7.7k at 8 qubits,
1,252 / 657 at 12, 205 / 158 at 14, 11 / 24 at 16 (where the buffered pass is 2.8x the earlier
allocating one). A circuit whose adjoint run does not fit the memory free on its device is refused in one line
before anything is allocated.

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
