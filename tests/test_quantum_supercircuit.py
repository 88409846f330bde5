import numpy as np

from hybrid_nas import Study, make_objective, make_strategy
from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.supercircuit import SuperCircuitEvaluator, inherited_accuracy, train_supercircuit
from hybrid_nas.quantum.training import TrainConfig


def test_sub_circuits_share_the_bank_by_decision_option():
    space = CircuitSpace(n_qubits=3, max_layers=2, scope="rxyz")
    a = space.uniform(2, "ry", "cnot_ring")
    b = a.replace(**{"L1.rot.q0": "rx"})
    ca, cb = space.build(a, shared=True), space.build(b, shared=True)
    assert len(ca.ops) == len(cb.ops)
    for oa, ob in zip(ca.ops, cb.ops):  # same position, same option: same weights; the changed slot: others
        assert (oa.params == ob.params) == (oa.gate == ob.gate)
    assert ca.n_params == space.build(a).n_params == 6 and ca.n_weights <= space.shared_offsets()[("size",)]
    # the SuperCircuit evaluator reports a sub-circuit's cost figures off its shared build
    u3cu3 = CircuitSpace(n_qubits=4, max_layers=3, scope="u3cu3")
    for arch in (u3cu3.uniform(3, "u3", "cu3_ring"), u3cu3.sample(np.random.default_rng(2))):
        assert u3cu3.build(arch, shared=True).figures() == u3cu3.build(arch).figures()


def test_supercircuit_training_learns_and_is_searched_like_any_evaluator():
    task = load_task("digits4")
    space = CircuitSpace(n_qubits=4, max_layers=2, scope="u3cu3")
    result = train_supercircuit(space, task, TrainConfig(epochs=10, lr=0.05))
    assert np.mean(result.losses[-10:]) < np.mean(result.losses[:10])
    rng = np.random.default_rng(1)
    archs = [space.sample(rng) for _ in range(8)]
    untrained = np.random.default_rng(0).uniform(-np.pi, np.pi, len(result.weights))

    def mean_inherited(bank):
        return np.mean([inherited_accuracy(space, bank, a, task.x_val, task.y_val, 4) for a in archs])

    assert mean_inherited(result.weights) > mean_inherited(untrained) + 0.1  # the bank learned for every sub-circuit
    study = Study(
        space,
        SuperCircuitEvaluator(space, task, result.weights),
        make_objective("weighted", cost="two_qubit_gates"),
        make_strategy("evolution", space, seed=0, population=6, sample=3),
    ).optimize(20)
    assert len(study.trials) == 20 and all(t.ok for t in study.trials)

    # a few fine-tuning steps from the inherited weights: better scores, and the bank stays as it was
    bank = result.weights.copy()
    plain, tuned = (
        SuperCircuitEvaluator(space, task, bank, finetune_steps=k, training=TrainConfig(lr=0.05)) for k in (0, 10)
    )
    gain = [tuned.evaluate(a, 0)["accuracy"] - plain.evaluate(a, 0)["accuracy"] for a in archs]
    assert np.mean(gain) > 0.02 and np.array_equal(bank, result.weights)
