"""Two-proportion tests: z-test for common errors, Fisher's exact test for sparse ones."""

import math

import pytest
from scipy.stats import fisher_exact, norm

from harness.errors import InvalidConfig
from harness.stats import proportion_test


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize(("kx", "nx", "ky", "ny"), [(3, 10_000, 0, 10_000), (5, 400, 1, 500), (0, 50, 2, 60)])
def test_exact_path_matches_scipy_fisher(kx: int, nx: int, ky: int, ny: int, alternative: str) -> None:
    """Sparse errors take the exact path, which equals scipy.stats.fisher_exact."""
    res = proportion_test(kx, nx, ky, ny, alternative=alternative)
    ref = fisher_exact([[kx, nx - kx], [ky, ny - ky]], alternative=alternative)
    assert res.exact
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_z_path_matches_the_pooled_formula() -> None:
    """With plenty of errors the pooled two-proportion z-test is used."""
    res = proportion_test(200, 10_000, 100, 10_000)
    pooled = 300 / 20_000
    z = (0.02 - 0.01) / math.sqrt(pooled * (1 - pooled) * 2 / 10_000)
    assert not res.exact
    assert res.p_value == pytest.approx(norm.sf(z), rel=1e-9)
    assert res.ratio == pytest.approx(2.0)
    assert res.ci_low < 0.01 < res.ci_high
    assert res.ci_low > 0


def test_ratio_edge_cases_and_bad_counts() -> None:
    """Zero baseline errors give an infinite ratio; impossible counts are rejected."""
    assert proportion_test(1, 10, 0, 10).ratio == math.inf
    assert proportion_test(0, 10, 0, 10).ratio == 1.0
    with pytest.raises(InvalidConfig, match="errors <= total"):
        proportion_test(11, 10, 0, 10)
    with pytest.raises(InvalidConfig, match="at least one request"):
        proportion_test(0, 0, 0, 10)
    with pytest.raises(InvalidConfig, match="method"):
        proportion_test(1, 10, 1, 10, method="chi2")
