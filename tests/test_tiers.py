"""The test tiers: the quick tier refuses what belongs to the slow one, and
tests/README.md's index is generated from the test files."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.conftest import SlowTestNotMarked, _quick_tier_guard

REPO = Path(__file__).resolve().parents[1]


def test_quick_tier_refuses_training_and_python_processes():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with _quick_tier_guard():
        with pytest.raises(SlowTestNotMarked, match=r"mark it @pytest\.mark\.slow"):
            model.fit(np.zeros((4, 2)), np.zeros(4), verbose=0)
        with pytest.raises(SlowTestNotMarked, match="starts a process"):
            subprocess.run([sys.executable, "-c", "pass"], check=False)
        with pytest.raises(SlowTestNotMarked, match="starts a process"):
            subprocess.run(["bash", "-c", "true"], check=False)
        git = subprocess.run(["git", "--version"], capture_output=True, check=False)
        assert git.returncode == 0  # other programs are fine
    # Restored afterwards.
    assert model.fit is not None and subprocess.Popen.__init__ is not None


def test_readme_index_is_current():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import test_index
    finally:
        sys.path.remove(str(REPO / "scripts"))
    readme = (REPO / "tests" / "README.md").read_text(encoding="utf-8")
    assert test_index.updated(readme, test_index.index()) == readme, (
        "tests/README.md is out of date: run python scripts/test_index.py"
    )
