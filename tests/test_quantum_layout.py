"""Device layouts (--layout device): connected qubit subsets of today's 127-156-qubit fake backends, their
calibration scores, and circuits built on them that transpile with no SWAP and no extra qubit."""

import json
import math

import numpy as np
import pytest
import rustworkx as rx

from hybrid_nas.cli import main
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.registry import rebuild_space
from hybrid_nas.quantum.hardware import fake_backend, fake_backend_names, transpile_for
from hybrid_nas.quantum.layout import (
    best_layouts,
    check_subset,
    layouts_of,
    mutate_subset,
    native_edges,
    sample_subset,
    score_subset,
    two_qubit_gate,
)
from hybrid_nas.quantum.noise import DeviceRun, active_qubits
from hybrid_nas.quantum.space import CircuitSpace

BACKENDS = ("FakeSherbrooke", "FakeTorino", "FakeFez")  # ecr, cz, cz


def connected_on_device(backend, subset) -> bool:
    """Connectivity by rustworkx on the backend's own coupling map: a check independent of quantum.layout."""
    graph = backend.coupling_map.graph.subgraph(list(subset)).to_undirected()
    return len(subset) == graph.num_nodes() and rx.is_connected(graph)


def test_todays_devices_are_fake_backends():
    names = fake_backend_names()
    assert {"FakeSherbrooke", "FakeTorino", "FakeFez", "FakeManilaV2"} <= set(names)
    assert "FakeProviderForBackendV2" not in names  # a provider, not a device


@pytest.mark.parametrize("name", BACKENDS)
def test_sampled_and_mutated_subsets_stay_connected_and_of_their_size(name):
    backend = fake_backend(name)
    for seed in range(60):
        rng = np.random.default_rng(seed)
        k = 2 + seed % 9
        subset = sample_subset(backend, k, rng)
        assert len(set(subset)) == k and connected_on_device(backend, subset)
        for _ in range(3):
            mutated = mutate_subset(backend, subset, rng)
            assert len(set(mutated)) == k and connected_on_device(backend, mutated)
            assert len(set(mutated) - set(subset)) == 1  # one qubit swapped for another
            subset = mutated
        # every prefix of the BFS order is connected, so a narrower circuit on the same layout is placed too
        assert all(connected_on_device(backend, subset[:i]) for i in range(1, k + 1))


@pytest.mark.parametrize("name", BACKENDS)
def test_edges_are_couplers_in_the_native_direction(name):
    backend = fake_backend(name)
    target, gate = backend.target, two_qubit_gate(backend)
    assert gate == ("ecr" if name == "FakeSherbrooke" else "cz")
    subset = sample_subset(backend, 8, np.random.default_rng(3))
    edges = native_edges(backend, subset)
    assert len(edges) >= 7  # connected: at least a spanning tree's
    for a, b in edges:
        assert target[gate][(subset[a], subset[b])].error < 1.0  # defined (and working) in this direction


@pytest.mark.parametrize("name", BACKENDS)
def test_scores_come_from_the_calibration(name):
    backend = fake_backend(name)
    target, gate = backend.target, two_qubit_gate(backend)
    subset = sample_subset(backend, 5, np.random.default_rng(7))
    # the score recomputed from the target: 2q success x readout success x survival over a gate time
    pairs = {frozenset(q) for q, p in target[gate].items() if set(q) <= set(subset) and p.error < 1.0}
    errors = [min(target[gate][q].error for q in target[gate] if frozenset(q) == pair) for pair in pairs]
    t_gate = np.mean([p.duration for p in target[gate].values() if p.error < 1.0])  # of the working couplers
    coherence = [min(backend.qubit_properties(q).t1, backend.qubit_properties(q).t2) for q in subset]
    expected = (
        (1 - np.mean(errors))
        * (1 - np.mean([target["measure"][(q,)].error for q in subset]))
        * np.mean([math.exp(-t_gate / t) for t in coherence])
    )
    assert score_subset(backend, subset) == pytest.approx(expected, rel=1e-9)
    layouts = best_layouts(name, 5, count=8, seed=0)
    assert all(0.0 < s <= 1.0 and math.isfinite(s) for s in layouts.scores)
    assert list(layouts.scores) == sorted(layouts.scores, reverse=True)
    assert len({frozenset(s) for s in layouts.subsets}) == len(layouts.subsets) == 8
    assert best_layouts(name, 5, count=8, seed=0) is layouts  # sampled once per backend, size and seed


@pytest.mark.parametrize("name, scope, gate", [("FakeSherbrooke", "rxyz", "ecr"), ("FakeTorino", "full", "cz")])
def test_a_device_circuit_transpiles_onto_its_qubits_without_swaps(name, scope, gate):
    backend = fake_backend(name)
    space = CircuitSpace(8, 2, scope, device=best_layouts(name, 8, count=4, seed=1))
    assert set(space["L0.ent"].options) >= {"none", "cnot_edges"}
    rng = np.random.default_rng(0)
    for i, layout in enumerate(space["layout"].options):
        arch = space.sample(rng).replace(layers=2, layout=layout, **{"L0.ent": "cnot_edges", "L1.ent": "cnot_edges"})
        if scope == "full":
            arch = arch.replace(**{"L1.ent": "cz_edges"})
        circuit = space.build(arch)
        assert circuit.layout == tuple(space.physical_qubits(arch)) == space.device.subsets[i]
        tqc = transpile_for(circuit, backend, weights=rng.uniform(0.1, 3, circuit.n_weights), x=rng.uniform(size=32))
        ops = tqc.count_ops()
        assert active_qubits(tqc) == 8 and "swap" not in ops
        assert list(tqc.layout.final_index_layout())[:8] == list(circuit.layout)
        assert ops[gate] == circuit.figures()["two_qubit_gates"] == 2 * len(space.device.edges[i])
        assert set(ops) <= {gate, "rz", "sx", "x"}  # only one-qubit basis gates besides the native one


def test_the_layout_is_part_of_the_circuit_key_and_survives_a_rebuild():
    space = CircuitSpace(5, 2, "u3cu3", device=best_layouts("FakeSherbrooke", 5, count=6, seed=0))
    arch = space.uniform(2, "u3", "cu3_ring")
    assert arch["L0.ent"] == "cu3_edges" and arch["layout"] == space["layout"].options[0]
    other = arch.replace(layout=space["layout"].options[1])
    assert space.key(arch) != space.key(other)  # same gates, other qubits: other noise
    assert space.describe(other).endswith(f"@ qubits {other['layout']}")
    rebuilt = rebuild_space(json.loads(json.dumps(space.meta())))
    assert rebuilt.device.subsets == space.device.subsets and rebuilt.device.edges == space.device.edges
    assert rebuilt.build(other) == space.build(other)
    # a SuperCircuit bank holds the layout with the most couplers
    most = max(len(e) for e in space.device.edges)
    assert space.shared_offsets()[("size",)] == 2 * (5 * 3 + most * 3)
    assert space.build(other, shared=True).n_weights <= space.shared_offsets()[("size",)]


def test_a_noisy_run_on_a_layout_simulates_only_the_circuits_qubits():
    backend = fake_backend("FakeSherbrooke")
    space = CircuitSpace(4, 1, "rxyz", device=best_layouts("FakeSherbrooke", 4, count=2, seed=0))
    arch = space.uniform(1, "ry", "cnot_ring")
    circuit = space.build(arch)
    weights = np.random.default_rng(0).uniform(0, 3, circuit.n_weights)
    run = DeviceRun(circuit, weights, backend)
    assert active_qubits(run.tqc) == 4 and run.method == "density_matrix"
    x = np.random.default_rng(1).uniform(0, 1, (3, 16))
    noiseless = DeviceRun(circuit, weights).expvals(x)
    noisy = run.expvals(x)
    assert np.all(np.abs(noisy) <= 1) and 0 < np.abs(noisy - noiseless).max() < 0.3


@pytest.mark.parametrize("shots", [None, 20000])
def test_a_run_on_a_layout_equals_aer_on_the_whole_device(shots):
    """Simulating just the layout's qubits with their own noise model changes no figure: the reference is
    Aer on the device-wide transpiled circuit with the whole device's noise model (exactly; with shots, to
    the shot noise, readout errors included)."""
    from qiskit import ClassicalRegister
    from qiskit_aer.noise import NoiseModel
    from qiskit_aer.primitives import EstimatorV2, SamplerV2

    from hybrid_nas.quantum.circuit import z_observables

    backend = fake_backend("FakeGuadalupeV2")  # 16 qubits: the whole device is cheap to simulate too
    space = CircuitSpace(3, 2, "rxyz", device=best_layouts("FakeGuadalupeV2", 3, count=3, seed=0))
    arch = space.uniform(2, "rx", "cnot_ring").replace(layout=space["layout"].options[2])
    circuit = space.build(arch)
    weights = np.random.default_rng(0).uniform(0, 3, circuit.n_weights)
    x = np.random.default_rng(1).uniform(0, 1, (4, 12))
    run = DeviceRun(circuit, weights, backend, shots=shots, seed=3)
    values = x[:, [p.index for p in run.tqc.parameters]]
    options = {"method": "density_matrix", "noise_model": NoiseModel.from_backend(backend)}
    if shots is None:
        observables = [[o.apply_layout(run.tqc.layout)] for o in z_observables(3)]
        estimator = EstimatorV2(options={"backend_options": options, "default_precision": 0.0})
        reference = estimator.run([(run.tqc, observables, values)]).result()[0].data.evs.T
        np.testing.assert_allclose(run.expvals(x), reference, atol=1e-12)
    else:
        measured = run.tqc.copy()
        bits = ClassicalRegister(3, "z")
        measured.add_register(bits)
        for q, physical in enumerate(circuit.layout):
            measured.measure(physical, bits[q])
        data = SamplerV2(seed=5, options={"backend_options": options}).run([(measured, values)], shots=shots)
        reference = np.stack([data.result()[0].data.z.expectation_values(o) for o in z_observables(3)], -1)
        assert np.abs(run.expvals(x) - reference).max() < 0.04  # 4 x the std of a difference of two means


def test_bad_subsets_are_one_line():
    sherbrooke, manila = fake_backend("FakeSherbrooke"), fake_backend("FakeManilaV2")
    with pytest.raises(ConfigError, match="the circuit needs 6 qubits, FakeManilaV2 has 5"):
        sample_subset(manila, 6, np.random.default_rng(0))
    # broken couplers (error 1) split off a few qubits: FakeSherbrooke's largest connected part is smaller
    with pytest.raises(ConfigError, match=r"FakeSherbrooke has no 125 connected qubits \(its largest connected part"):
        sample_subset(sherbrooke, 125, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="layout 0,1,2,5: these qubits of FakeSherbrooke are not connected"):
        check_subset(sherbrooke, (0, 1, 2, 5))
    with pytest.raises(ConfigError, match="layout 3,4,5 has 3 qubits, the circuit 4"):
        CircuitSpace(4, 1, "rxyz", device=layouts_of("FakeSherbrooke", [(3, 4, 5)]))
    assert check_subset(sherbrooke, (2, 0, 1)) == (0, 1, 2)  # BFS order from the lowest qubit


def test_a_device_layout_search_names_its_physical_qubits(tmp_path):
    out = tmp_path / "run"
    args = ["quantum", "--task", "iris", "--noise", "FakeTorino", "--layout", "device", "--layout-candidates", "4"]
    args += ["--scope", "rxyz", "--layers", "1", "--budget", "2", "--epochs", "1", "--n-train", "24"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    doc = json.loads((out / "best.json").read_text())
    layouts = best_layouts("FakeTorino", 4, count=4, seed=0)
    assert doc["best"]["architecture"]["layout"] in layouts.options
    assert doc["physical_qubits"] == [int(q) for q in doc["best"]["architecture"]["layout"].split("-")]
    assert doc["best"]["metrics"]["active_qubits"] == 4.0
    assert "OPENQASM 3" in (out / "best.qasm").read_text()
    # tuning the found circuit rebuilds it on its layout's couplers
    from hybrid_nas.quantum.hpo import circuit_of_run

    space, arch, _ = circuit_of_run(out)
    assert space.physical_qubits(arch) == doc["physical_qubits"]
