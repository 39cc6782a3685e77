"""stack_context: neighbours from the same night only, in time order."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skdreamy import EpochSpectrogram, make_pipeline
from skdreamy.preprocessing import stack_context


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 8), min_size=1, max_size=4),
    k=st.integers(0, 3),
    seed=st.integers(0, 100),
)
def test_neighbours_come_from_the_same_night(sizes, k, seed):
    rng = np.random.default_rng(seed)
    nights = np.repeat(np.arange(len(sizes)), sizes)
    order = rng.permutation(len(nights))  # nights interleaved in the rows
    nights = nights[order]
    # Each epoch holds (night, position in night) so we can check its source.
    position = np.zeros(len(nights), dtype=int)
    for night in np.unique(nights):
        position[nights == night] = np.arange(np.sum(nights == night))
    X = np.stack([nights, position], axis=1)
    out = stack_context(X, nights, k)
    assert out.shape == (len(X), 2 * (2 * k + 1))
    blocks = out.reshape(len(X), 2 * k + 1, 2)
    for i in range(len(X)):
        assert np.all(blocks[i, :, 0] == nights[i])  # never another night
        n_night = np.sum(nights == nights[i])
        expected = np.clip(position[i] + np.arange(-k, k + 1), 0, n_night - 1)
        np.testing.assert_array_equal(blocks[i, :, 1], expected)
        np.testing.assert_array_equal(blocks[i, k], X[i])  # centre is the epoch


def test_spectrograms_are_joined_along_time():
    S = np.arange(3 * 2 * 4).reshape(3, 2, 4)
    out = stack_context(S, [5, 5, 5], 1)
    assert out.shape == (3, 2, 12)
    np.testing.assert_array_equal(out[1], np.concatenate([S[0], S[1], S[2]], axis=1))


def test_raw_context_feeds_a_longer_spectrogram(raw_epochs):
    X, _, groups = raw_epochs
    Xc = stack_context(X[:40], groups[:40], 1)
    spec = EpochSpectrogram(epoch_duration=90)
    assert spec.fit_transform(Xc).shape == (40, 51 * 179)
    pipe = make_pipeline(raw=True, spectrogram=spec)
    assert pipe["scale"].spectrogram_shape == (51, 179)
    assert pipe["classify"].spectrogram_shape == (51, 179)


@pytest.mark.parametrize(
    ("X", "nights", "k", "match"),
    [
        (np.zeros((3, 5)), [0, 0], 1, "one night id per epoch"),
        (np.zeros((3, 5)), [0, 0, 0], -1, r"n_context.* must be an int in the range"),
        (np.zeros((3, 5)), [0, 0, 0], 1.5, r"n_context.* must be an int in the range"),
        (np.zeros(3), [0, 0, 0], 1, "got shape"),
    ],
)
def test_bad_input(X, nights, k, match):
    with pytest.raises(ValueError, match=match):
        stack_context(X, nights, k)


# -- dtype and centre kept (reliability) ---------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    k=st.integers(0, 3),
    shape=st.sampled_from([(4,), (2, 3)]),
    dtype=st.sampled_from([np.int8, np.uint16, np.float16, np.float32, np.float64]),
)
def test_stack_context_keeps_dtype_and_centre_for_raw_and_spectrograms(
    sizes, k, shape, dtype
):
    nights = np.repeat(np.arange(len(sizes)), sizes)
    X = np.arange(len(nights) * int(np.prod(shape))).reshape(len(nights), *shape)
    X = X.astype(dtype)
    out = stack_context(X, nights, k)
    width = shape[-1]
    assert out.dtype == X.dtype
    assert out.shape == (*X.shape[:-1], width * (2 * k + 1))
    np.testing.assert_array_equal(out[..., k * width : (k + 1) * width], X)
    if k == 0:
        assert out is X
