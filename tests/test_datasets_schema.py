"""Every loader of scored nights returns the same Bunch (keys, dtypes, meanings)."""

from pathlib import Path

import numpy as np
import pytest
from _edf_files import ramp, scoring, write_hypnogram, write_psg

from skdreamy.datasets import (
    load_example_nights,
    load_folder,
    load_nights,
    load_sleep_edf,
    make_sleep_epochs,
)
from skdreamy.datasets._schema import SCHEMA_KEYS

# Keys a loader adds after the schema (documented in its docstring).
EXTRAS = {
    "load_nights": set(),
    "load_folder (npz)": set(),
    "load_folder (edf)": {"n_dropped"},
    "load_sleep_edf": {"records", "sfreq"},
    "load_example_nights": {"synthetic", "path", "description"},
    "load_example_nights (synthetic)": {"synthetic", "path", "description"},
}
STAGES = [("Sleep stage W", 2), ("Sleep stage 2", 2), ("Sleep stage R", 1)]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """An .npz folder (with label_agreement) and a Sleep-EDF-named EDF folder."""
    npz = tmp_path_factory.mktemp("npz")
    for i, subject in enumerate(["ben", "anna", "ben"]):
        x, y = make_sleep_epochs(3 + i, random_state=i)
        np.savez(
            npz / f"night{i}.npz",
            x=x,
            y=y,
            subject=subject,
            channel="C3-A1",
            label_agreement=np.ones(len(y)),
        )
    edf = tmp_path_factory.mktemp("edf")
    n_samples = round(sum(n for _, n in STAGES) * 30 * 100)
    for subject, night in [(3, 1), (0, 1), (3, 2)]:
        name = f"SC4{subject:02d}{night}E"
        write_psg(edf / f"{name}0-PSG.edf", {"EEG Fpz-Cz": ramp(n_samples, 100)}, 100)
        write_hypnogram(edf / f"{name}C-Hypnogram.edf", scoring(*STAGES))
    return npz, edf


@pytest.fixture(scope="module")
def loaded(sources):
    npz, edf = sources
    return {
        "load_nights": load_nights(npz),
        "load_folder (npz)": load_folder(npz),
        "load_folder (edf)": load_folder(edf),
        "load_sleep_edf": load_sleep_edf(
            [0, 3], [1, 2], path=edf, trim_wake=None, on_missing="ignore"
        ),
        "load_example_nights": load_example_nights(npz),
        "load_example_nights (synthetic)": load_example_nights(
            Path(npz) / "absent", fallback="synthetic", n_synthetic=20, n_subjects=3
        ),
    }


@pytest.mark.parametrize("loader", sorted(EXTRAS))
def test_same_keys_dtypes_and_meanings(loaded, loader):
    data = loaded[loader]
    optional = {"label_agreement"}
    assert set(data) - optional == set(SCHEMA_KEYS) | EXTRAS[loader]
    n, n_nights = len(data.y), len(data.files)
    # Per epoch.
    assert data.X.dtype == np.float32 and data.X.shape == (n, 3000)
    for key, dtype in [("y", np.int64), ("groups", np.int64), ("nights", np.int64)]:
        assert data[key].dtype == dtype and data[key].shape == (n,), key
    assert data.onsets.dtype == np.float64 and data.onsets.shape == (n,)
    assert set(np.unique(data.y)) <= set(range(5))
    # groups index subjects; subjects are the sorted distinct names.
    assert data.subjects.dtype.kind == "U"
    assert data.subjects.tolist() == sorted(set(data.subjects.tolist()))
    assert set(np.unique(data.groups)) == set(range(len(data.subjects)))
    # nights index files, channels and orig_fs; each night is one subject.
    assert isinstance(data.files, list)
    assert data.channels.dtype.kind == "U" and data.channels.shape == (n_nights,)
    assert data.orig_fs.dtype == np.float64 and data.orig_fs.shape == (n_nights,)
    assert set(np.unique(data.nights)) == set(range(n_nights))
    for night in range(n_nights):
        assert len(np.unique(data.groups[data.nights == night])) == 1
    if "label_agreement" in data:
        assert data.label_agreement.dtype == np.float32
        assert data.label_agreement.shape == (n,)


def test_same_nights_same_bunch(loaded):
    """One source read by two loaders gives equal arrays, key by key."""
    pairs = [
        ("load_nights", "load_folder (npz)"),
        ("load_nights", "load_example_nights"),
        ("load_folder (edf)", "load_sleep_edf"),
    ]
    for a, b in pairs:
        for key in (*SCHEMA_KEYS, "label_agreement"):
            if key not in loaded[a]:
                assert key not in loaded[b]
                continue
            if key == "files":
                assert loaded[a].files == loaded[b].files, (a, b)
            else:
                np.testing.assert_array_equal(loaded[a][key], loaded[b][key])


def test_label_agreement_only_from_files_that_have_it(loaded):
    assert "label_agreement" in loaded["load_nights"]
    assert "label_agreement" in loaded["load_example_nights"]
    assert "label_agreement" not in loaded["load_sleep_edf"]


def test_sleep_edf_groups_index_subjects(loaded):
    data = loaded["load_sleep_edf"]
    subject_of_epoch = data.subjects[data.groups].astype(int)
    by_record = np.concatenate([np.full(r.n_epochs, r.subject) for r in data.records])
    np.testing.assert_array_equal(subject_of_epoch, by_record)
    assert data.subjects.tolist() == ["0", "3"]


def test_library_never_looks_for_the_checkout_data():
    """Only tests/conftest.py and benchmarks/ know where the checkout keeps data."""
    import skdreamy

    package = Path(skdreamy.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "../shared" in path.read_text() or "shared/data" in path.read_text()
    ]
    assert offenders == []
