import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # helpers.py, importable by worker processes too


@pytest.fixture
def nb201():
    from hybrid_nas.nb201.table import NB201Evaluator, NB201Space

    return NB201Space(), NB201Evaluator("cifar100", "titan_rtx_256")
