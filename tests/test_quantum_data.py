import numpy as np
import pytest

from hybrid_nas import DataError
from hybrid_nas.quantum.data import TASKS, adaptive_pool, load_task, readout_matrix
from hybrid_nas.quantum.space import space_for_task


@pytest.mark.parametrize("name", sorted(TASKS))
def test_tasks_are_split_scaled_and_fit_their_qubits(name):
    task = load_task(name, seed=0)
    n = len(task.y_train) + len(task.y_val) + len(task.y_test)
    assert len(task.y_test) == pytest.approx(0.2 * n, abs=2) and len(task.y_val) == pytest.approx(0.2 * n, abs=2)
    assert task.x_train.min() >= 0 and task.x_train.max() == pytest.approx(np.pi)
    assert task.n_classes <= task.n_qubits
    assert set(np.unique(task.y_train)) == set(range(task.n_classes))  # stratified: every class in training
    space = space_for_task(task, layers=1)
    circuit = space.build(space.uniform(1, "u3", "cu3_ring", encoder=task.encoder))
    assert {p[1] for op in circuit.ops for p in op.params if p[0] == "x"} == set(range(task.n_features))


def test_digits4_is_the_mnist4_analogue():
    task = load_task("digits4")
    assert (task.n_features, task.n_classes, task.n_qubits) == (16, 4, 4)
    assert len(task.y_train) + len(task.y_val) + len(task.y_test) == 720  # digits 0-3 of scikit-learn's 1,797


def test_digits10_is_the_mnist10_analogue():
    task = load_task("digits10")
    assert (task.n_features, task.n_classes, task.n_qubits, task.encoder) == (36, 10, 10, "ryzxy")  # 6x6_ryzxy
    assert len(task.y_train) + len(task.y_val) + len(task.y_test) == 1797


def test_adaptive_pooling_windows():
    image = np.arange(64, dtype=float).reshape(1, 8, 8)
    assert np.array_equal(adaptive_pool(image, 4), image.reshape(1, 4, 2, 4, 2).mean(axis=(2, 4)))
    pooled = adaptive_pool(image, 6)  # windows [0,2) [1,3) [2,4) [4,6) [5,7) [6,8): overlapping, as torch's
    assert pooled.shape == (1, 6, 6)
    assert pooled[0, 0, 0] == image[0, :2, :2].mean() and pooled[0, 2, 3] == image[0, 2:4, 4:6].mean()
    assert pooled[0, 5, 5] == image[0, 6:, 6:].mean()


def test_splits_are_fixed_by_the_seed():
    a, b, c = load_task("iris", seed=1), load_task("iris", seed=1), load_task("iris", seed=2)
    assert np.array_equal(a.x_test, b.x_test) and not np.array_equal(a.x_test, c.x_test)


def test_csv_task_and_its_errors(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "d.csv"
    rows = ["f1,f2,f3,kind"] + [
        f"{a:.3f},{b:.3f},{a + b:.3f},{'big' if a + b > 1 else 'small'}" for a, b in rng.uniform(0, 1, (60, 2))
    ]
    path.write_text("\n".join(rows))
    task = load_task(f"csv:{path}", label_column="kind")
    assert (task.n_features, task.n_classes) == (3, 2)
    wide = tmp_path / "wide.csv"
    wide.write_text(
        "\n".join(
            [",".join(f"f{i}" for i in range(10)) + ",y"]
            + [",".join(f"{v:.3f}" for v in rng.uniform(size=10)) + f",{k % 3}" for k in range(30)]
        )
    )
    task = load_task(f"csv:{wide}", label_column="y")
    assert (task.n_qubits, task.encoder, task.n_features, task.n_classes) == (3, "ryzxy", 10, 3)  # 4 rows on 3 qubits
    with pytest.raises(DataError, match="did you mean 'kind'"):
        load_task(f"csv:{path}", label_column="kinds")
    with pytest.raises(DataError, match="does not exist"):
        load_task(f"csv:{tmp_path / 'missing.csv'}")
    with pytest.raises(DataError, match="did you mean 'digits4'"):
        load_task("digits5")


def test_readout_uses_every_qubit_for_two_classes():
    assert readout_matrix(4, 2).tolist() == [[1, 0], [1, 0], [0, 1], [0, 1]]
    assert readout_matrix(4, 3).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]


def test_a_stratified_head_keeps_the_classes_balanced_and_the_split_order():
    from hybrid_nas.quantum.data import stratified_head

    y = np.array([2, 0, 0, 1, 0, 2, 1, 0, 0, 1])
    head = stratified_head(y, 6)
    assert list(head) == sorted(head) and len(set(head)) == 6
    assert np.bincount(y[head]).tolist() == [2, 2, 2]  # two of each class: the first two of each
    assert list(stratified_head(y, 3)) == [0, 1, 3]
    assert list(stratified_head(y, 50)) == list(range(10))


def test_the_wilson_interval_matches_scipy():
    from scipy.stats import binomtest

    from hybrid_nas.engine.stats import wilson_halfwidth

    for k, n in ((0, 10), (7, 10), (130, 144), (20, 20)):
        low, high = binomtest(k, n).proportion_ci(method="wilson")
        assert wilson_halfwidth(k / n, n) == pytest.approx((high - low) / 2, rel=1e-3)
