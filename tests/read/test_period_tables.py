"""The report's p90 from a histogram (one row per distinct value and its count, as a GROUP BY
gives it) is the very float pandas' groupby quantile gives over the values themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from callmon.read.period_tables import histogram_quantile


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("q", [0.9, 0.5, 0.0, 1.0])
def test_histogram_quantile_is_pandas_groupby_quantile_over_the_values(seed, q):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        n = int(rng.integers(1, 80))
        values = pd.DataFrame({"_k": rng.integers(0, 5, n),
                               "rs": np.round(rng.random(n) * rng.choice([0.3, 7.0, 40.0]), int(rng.integers(0, 4)))})
        histogram = values.groupby(["_k", "rs"]).size().rename("n").reset_index()
        want = values.groupby("_k")["rs"].quantile(q)
        got = histogram_quantile(histogram, q).sort_index()
        assert list(got.index) == list(want.index)
        assert got.tolist() == want.tolist()  # exactly, not approximately


def test_histogram_quantile_of_nothing_is_empty():
    assert histogram_quantile(pd.DataFrame(columns=["_k", "rs", "n"]), 0.9).empty
