import pickle

import numpy as np
import pytest

from hybrid_nas import Architecture, Decision, SearchSpace, SpaceError


@pytest.fixture
def space():
    return SearchSpace([Decision("k", ("3x3", "5x5", "7x7")), Decision("act", ("relu", "silu")), Decision("layers", (1, 2))])


def test_architecture_is_an_order_free_hashable_value():
    a, b = Architecture(k="3x3", act="relu"), Architecture({"act": "relu", "k": "3x3"})
    assert a == b and hash(a) == hash(b) and a.key == b.key
    assert {a: 1}[b] == 1
    assert Architecture.from_json(a.to_json()) == a
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.replace(k="5x5")["k"] == "5x5" and a["k"] == "3x3"


def test_sample_mutate_validate(space):
    rng = np.random.default_rng(0)
    assert space.size() == 12
    seen = {space.sample(rng) for _ in range(300)}
    assert len(seen) == 12  # every architecture is reachable
    for arch in list(seen)[:6]:
        child = space.mutate(arch, rng)
        assert sum(child[k] != arch[k] for k in arch) == 1
        assert space.validate(child) == child
    assert space.from_indices(space.indices(arch)) == arch


def test_validate_names_the_bad_choice(space):
    with pytest.raises(SpaceError, match=r"unknown option for 'k' '3x4' \(did you mean '3x3'\?\)"):
        space.validate({"k": "3x4", "act": "relu", "layers": 1})
    with pytest.raises(SpaceError, match="lacks decision"):
        space.validate({"k": "3x3"})
    with pytest.raises(SpaceError, match="unknown decision"):
        space.validate({"k": "3x3", "act": "relu", "layers": 1, "width": 8})


def test_a_decision_needs_an_option():
    with pytest.raises(SpaceError, match="no allowed option"):
        Decision("k", ())


def test_nb201_notation_round_trips(nb201):
    from hybrid_nas.nasbench201 import load_table

    space, _ = nb201
    rng = np.random.default_rng(1)
    for _ in range(20):
        arch = space.sample(rng)
        s = space.describe(arch)
        assert space.parse(s) == arch
        assert load_table().arch_strings[space.index(arch)] == s
    with pytest.raises(SpaceError, match="malformed NB201 arch string"):
        space.parse("|conv~0|+|x~1|")
    with pytest.raises(SpaceError, match="did you mean 'nor_conv_3x3'"):
        space.parse("|nor_conv_3x4~0|+|none~0|none~1|+|none~0|none~1|none~2|")
