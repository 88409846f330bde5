import pickle

import numpy as np
import pytest

from hybrid_nas import Architecture, Decision, ProductSpace, SearchSpace, SpaceError


@pytest.fixture
def space():
    return SearchSpace(
        [Decision("k", ("3x3", "5x5", "7x7")), Decision("act", ("relu", "silu")), Decision("layers", (1, 2))]
    )


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
    from hybrid_nas.nb201.table import load_table

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


# ---- a product of named sub-spaces ---------------------------------------------------------------------


@pytest.fixture
def product(space):
    from hybrid_nas.quantum.space import CircuitSpace

    return ProductSpace({"net": space, "circuit": CircuitSpace(3, 2, "rxyz", ("rx",))})


def test_a_product_has_its_parts_decisions_under_their_part_names(product):
    names = [d.name for d in product.decisions]
    expected = [f"{p}.{d.name}" for p, s in product.parts.items() for d in s.decisions]
    assert names == expected and len(names) == len(set(names))
    assert all(product[f"{p}.{d.name}"].options == d.options for p, s in product.parts.items() for d in s.decisions)
    assert product.size() == product.parts["net"].size() * product.parts["circuit"].size()


def test_a_product_samples_as_its_parts_do_with_the_same_generator(product):
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(5):
        arch = product.sample(a)
        assert arch == product.join({n: s.sample(b) for n, s in product.parts.items()})
        assert {n: product.part(arch, n) for n in product.parts} == {
            n: s.validate(product.part(arch, n)) for n, s in product.parts.items()
        }


def test_a_product_key_is_its_parts_keys(product):
    circuit = product.parts["circuit"]
    arch = product.join(
        {"net": {"k": "3x3", "act": "relu", "layers": 1}, "circuit": circuit.uniform(1, "ry", "cnot_ring", "rx")}
    )
    # layer 1 is inactive at layers=1: the circuit part's key ignores it, and so does the product's
    inactive = arch.replace(**{"circuit.L1.rot.q0": "rz"})
    active = arch.replace(**{"circuit.L0.rot.q0": "rz"})
    assert circuit.key(product.part(arch, "circuit")) == circuit.key(product.part(inactive, "circuit"))
    assert product.key(arch) == product.key(inactive) != product.key(active)
    assert product.key(arch) != product.key(arch.replace(**{"net.k": "5x5"}))


def test_a_product_mutates_one_part_by_that_parts_own_mutation(product):
    rng = np.random.default_rng(0)
    arch = product.sample(rng)
    changed_parts = set()
    for _ in range(200):
        child = product.mutate(arch, rng)
        changed = [n for n in product.parts if product.part(child, n) != product.part(arch, n)]
        assert len(changed) == 1  # one part, and within it one decision, as the part's own mutate does
        diff = [k for k in arch if child[k] != arch[k]]
        assert len(diff) == 1 and diff[0].startswith(changed[0] + ".")
        changed_parts.add(changed[0])
    assert changed_parts == {"net", "circuit"}


def test_a_product_validates_part_by_part(product):
    arch = product.sample(np.random.default_rng(0))
    with pytest.raises(SpaceError, match="part 'net'.*'9x9'"):
        product.validate(arch.replace(**{"net.k": "9x9"}))
    with pytest.raises(SpaceError, match="unknown part"):
        product.validate({**arch, "head.readout": "dense"})
    with pytest.raises(SpaceError, match="part 'circuit'.*lacks"):
        product.validate({k: v for k, v in arch.items() if k != "circuit.layers"})
    with pytest.raises(SpaceError, match="no '.'"):
        ProductSpace({"a.b": product.parts["net"]})
