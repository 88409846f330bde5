import math

import numpy as np
import pytest

from hybrid_nas import ConfigError
from hybrid_nas.nb201.table import NB201Evaluator, load_table


def test_table_facts_from_its_readme():
    table = load_table()
    assert len(table.arch_strings) == 15625 and len(table.devices) == 27
    lat = table.latency("titan_rtx_256")
    assert int((lat <= 17).sum()) == 6200
    assert lat.mean() == pytest.approx(18.86, abs=0.01)
    i, acc, _ = NB201Evaluator().oracle()
    assert (i, round(100 * acc, 2)) == (9930, 73.51)
    i, acc, lat17 = NB201Evaluator().oracle(17)
    assert i == 3487 and 100 * acc == pytest.approx(70.09, abs=0.005) and lat17 == pytest.approx(15.93, abs=0.005)


@pytest.mark.parametrize("device", load_table().devices)
def test_every_latency_column_evaluates(device, nb201):
    space, _ = nb201
    ev = NB201Evaluator("cifar10", device)
    metrics = ev.evaluate(space.sample(np.random.default_rng(0)), 0)
    assert set(metrics) == {"accuracy", "latency_ms"}
    assert 0 < metrics["accuracy"] <= 1 and math.isfinite(metrics["latency_ms"])


def test_evaluator_reads_the_row_of_the_cell(nb201):
    space, ev = nb201
    arch = space.parse(load_table().arch_strings[3487])
    assert ev.evaluate(arch, 0) == pytest.approx({"accuracy": 0.700933, "latency_ms": 15.9317})


def test_unknown_device_and_dataset_are_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'titan_rtx_256'"):
        NB201Evaluator("cifar100", "titan_rtx256")
    with pytest.raises(ConfigError, match="did you mean 'cifar100'"):
        NB201Evaluator("cifar-100")
    with pytest.raises(ConfigError, match="no NB201 cell has latency <= 0.1"):
        NB201Evaluator().oracle(0.1)
