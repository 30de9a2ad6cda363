"""Golden test: our Gamma-Poisson Shrinker, PRR and counting against openEBGM 0.9.1, the FDA's R implementation,
on the CAERS example data its vignettes are built on (tests/surveillance/data/README.md gives the provenance).

The expected numbers are copied from openEBGM 0.9.1's published vignettes (CRAN build 2023-09-14;
github.com/cran/openEBGM, inst/doc/vignette02-rawDataProcessing.html, vignette03-hyperparameterEstimation.html,
vignette04-posteriorCalculation.html), as the R console printed them. Method paper: Canida T, Ihrie J. openEBGM:
An R implementation of the Gamma-Poisson Shrinker data mining model. The R Journal 2017;9(2):499-519.
doi:10.32614/RJ-2017-063.

Tolerances, and why:
- counts, N, squashed points and weights: exact (integers);
- E and Q_n: to the digits the vignette prints (R prints 7 significant digits after rounding: half a unit in the
  last printed digit, plus floating noise);
- EBGM, RR and PRR: openEBGM rounds to 2 decimals, so |ours - printed| <= 0.005;
- QUANT_05 / QUANT_95: openEBGM's quantBisect stops when the bisection interval's half-width is below 0.005 and
  then rounds to 2 decimals, so its printed value can be 0.005 + 0.005 from the exact quantile, which we compute to
  a relative 1e-7: |ours - printed| <= 0.01;
- hyperparameters: autoHyper's own starting points agree with each other only to 0.016 in alpha1 (the likelihood is
  flat in it: its standard error is 2.29) and autoHyper accepts a fit when another start lands within
  (0.05, 0.05, 0.2, 0.2, 0.025); we ask for a tenth of those tolerances against the printed estimate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kratomwatch.core import disproportionality as dp
from kratomwatch.surveillance import openebgm

DATA = Path(__file__).parent / "data" / "caers.csv"
TEN_PERCENT_OF_AUTOHYPER_TOL = np.array([0.005, 0.005, 0.02, 0.02, 0.0025])
# vignette04 (and vignette03, squashed): autoHyper(squashed2, theta_init)$estimates
THETA_SQUASHED = np.array([3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557])
# vignette03: autoHyper(processed, theta_init, squashed = FALSE)$estimates
THETA_FULL = np.array([3.25596685, 0.39998994, 2.02376139, 1.90614108, 0.06530755])
# vignette03's three starting points
THETA_INIT = ((0.2, 0.1, 2, 4, 1 / 3), (0.1, 0.2, 10, 10, 0.2), (0.3, 0.5, 6, 6, 0.5))


@pytest.fixture(scope="module")
def processed() -> pl.DataFrame:
    return openebgm.count_pairs(openebgm.read(DATA), stratify=False)


@pytest.fixture(scope="module")
def squashed2(processed: pl.DataFrame) -> dp.Squashed:
    """squashed <- squashData(processed); squashed2 <- squashData(squashed, count = 2, bin_size = 10, keep_pts = 50)"""
    n, e = processed["N"].to_numpy().astype(float), processed["E"].to_numpy()
    first = dp.squash(n, e)
    return dp.squash(first.n, first.e, first.weight, count=2, bin_size=10, keep_pts=50)


def test_process_raw_gives_17189_pairs_with_the_printed_expected_counts(processed: pl.DataFrame) -> None:
    assert processed.height == 17189
    head = processed.head(4)
    assert head["var1"].to_list() == [
        "1-PHENYLALANINE",
        "11 UNSPECIFIED VITAMINS",
        "11 UNSPECIFIED VITAMINS",
        "11 UNSPECIFIED VITAMINS",
    ]
    assert head["var2"].to_list() == ["HEART RATE INCREASED", "ASTHMA", "CARDIAC FUNCTION TEST", "CHEST PAIN"]
    assert head["N"].to_list() == [1, 1, 1, 1]
    assert head["E"].to_numpy() == pytest.approx([0.0360548272, 0.0038736591, 0.0002979738, 0.0360548272], abs=6e-11)


def test_rr_and_prr_match_process_raw(processed: pl.DataFrame) -> None:
    head = processed.head(6)
    n, e = head["N"].to_numpy().astype(float), head["E"].to_numpy()
    result = dp.prr(n, head["N_v1"].to_numpy(), head["N_v2"].to_numpy(), head["N_tot"].to_numpy())
    printed_prr = [27.96, 279.58, np.inf, 27.96, 13.11, 19.06]
    assert result.prr[2] == np.inf
    assert np.delete(result.prr, 2) == pytest.approx(np.delete(printed_prr, 2), abs=0.005)
    assert n / e == pytest.approx([27.74, 258.15, 3356.00, 27.74, 13.06, 18.96], abs=0.005)


SMALL = [
    ("product_B", "event_1", "F", "age_cat2", 1),
    ("product_A", "event_1", "M", "age_cat1", 2),
    ("product_B", "event_2", "M", "age_cat1", 3),
    ("product_A", "event_1", "M", "age_cat1", 4),
    ("product_A", "event_1", "F", "age_cat1", 5),
    ("product_A", "event_1", "F", "age_cat1", 6),
    ("product_A", "event_2", "F", "age_cat1", 7),
    ("product_A", "event_2", "F", "age_cat1", 8),
    ("product_A", "event_1", "M", "age_cat2", 9),
    ("product_A", "event_2", "M", "age_cat1", 10),
    ("product_A", "event_2", "M", "age_cat1", 11),
    ("product_B", "event_2", "M", "age_cat2", 12),
    ("product_B", "event_1", "M", "age_cat1", 13),
    ("product_B", "event_2", "M", "age_cat1", 14),
    ("product_B", "event_1", "M", "age_cat1", 15),
    ("product_B", "event_2", "F", "age_cat1", 16),
    ("product_C", "event_1", "M", "age_cat1", 17),
]


@pytest.mark.parametrize(
    ("stratify", "expected", "rr"),
    [
        (False, [4.7647059, 4.2352941, 3.7058824, 3.2941176, 0.5294118], [1.05, 0.94, 0.81, 1.21, 1.89]),
        (True, [4.3222222, 4.6777778, 4.1222222, 2.8777778, 0.5555556], [1.16, 0.86, 0.73, 1.39, 1.80]),
    ],
)
def test_the_small_vignette_table_with_and_without_strata(
    tmp_path: Path, stratify: bool, expected: list[float], rr: list[float]
) -> None:
    """vignette02: processRaw(dat, stratify = FALSE / TRUE, zeroes = FALSE) on its 17-report example."""
    path = tmp_path / "small.csv"
    lines = ["var1,var2,strat1,strat2,id", *(",".join(map(str, row)) for row in SMALL)]
    path.write_text("\n".join(lines) + "\n")
    rows = openebgm.read(path)
    counts = openebgm.count_pairs(rows, stratify=stratify)
    assert counts["N"].to_list() == [5, 4, 3, 4, 1]
    assert counts["E"].to_numpy() == pytest.approx(expected, abs=5e-8)
    n = counts["N"].to_numpy().astype(float)
    assert n / counts["E"].to_numpy() == pytest.approx(rr, abs=0.005)
    # PRR is not affected by strata: 1.11, 0.89, 0.71, 1.43, 2.00
    result = dp.prr(n, counts["N_v1"].to_numpy(), counts["N_v2"].to_numpy(), counts["N_tot"].to_numpy())
    assert result.prr == pytest.approx([1.11, 0.89, 0.71, 1.43, 2.00], abs=0.005)
    if stratify:
        assert openebgm.small_strata(rows) == ["F-age_cat1", "F-age_cat2", "M-age_cat1", "M-age_cat2"]


def test_squash_data_gives_the_printed_super_points(processed: pl.DataFrame) -> None:
    n, e = processed["N"].to_numpy().astype(float), processed["E"].to_numpy()
    first = dp.squash(n, e)
    assert first.n.size == 1568
    assert first.n[:6].tolist() == [1.0] * 6 and first.weight[:6].tolist() == [50.0] * 6
    assert first.e[:6] == pytest.approx([0.0002979738] * 6, abs=6e-11)
    assert first.weight.sum() == 17189


def test_auto_squash_gives_the_printed_table_of_weights(processed: pl.DataFrame) -> None:
    """vignette03: ftable(autoSquash(processed)[, c("N", "weight")])."""
    n, e = processed["N"].to_numpy().astype(float), processed["E"].to_numpy()
    auto = dp.auto_squash(n, e)
    table = pl.DataFrame({"N": auto.n, "w": auto.weight}).group_by("N", "w").len()
    got = {(int(r[0]), int(r[1])): int(r[2]) for r in table.iter_rows()}
    printed_weight_one = {
        1: 100, 2: 75, 3: 51, 4: 80, 5: 41, 6: 31, 7: 17, 8: 20, 9: 14, 10: 6, 11: 7, 12: 3, 13: 3, 14: 2,
        16: 4, 17: 2, 18: 5, 19: 1, 21: 2, 22: 1, 23: 1, 24: 1, 27: 1, 28: 1, 42: 1, 53: 1, 54: 1,
    }  # fmt: skip
    expected = {(count, 1): k for count, k in printed_weight_one.items()}
    expected |= {(1, 6): 1, (1, 31): 514, (2, 3): 1, (2, 8): 79, (3, 2): 71}
    assert got == expected


def test_hyperparameters_on_squashed_data_match_auto_hyper(squashed2: dp.Squashed) -> None:
    assert squashed2.n.size == 974 and squashed2.weight.sum() == 17189
    # The likelihood at openEBGM's estimate is the minimum it prints (4161.93).
    assert dp.neg_log_likelihood(THETA_SQUASHED, squashed2.n, squashed2.e, squashed2.weight) == pytest.approx(
        4161.93, abs=0.005
    )
    fit = dp.fit_gps(squashed2.n, squashed2.e, squashed2.weight, starts=THETA_INIT)
    assert np.all(np.abs(fit.theta - THETA_SQUASHED) <= TEN_PERCENT_OF_AUTOHYPER_TOL), fit.theta
    assert fit.minimum == pytest.approx(4161.93, abs=0.005)
    assert fit.num_close == 2


def test_hyperparameters_on_every_pair_match_auto_hyper(processed: pl.DataFrame) -> None:
    n, e = processed["N"].to_numpy().astype(float), processed["E"].to_numpy()
    fit = dp.fit_gps(n, e, starts=THETA_INIT[:2])  # two starts: the full likelihood is ~20x slower to fit
    assert np.all(np.abs(fit.theta - THETA_FULL) <= TEN_PERCENT_OF_AUTOHYPER_TOL), fit.theta
    assert fit.minimum == pytest.approx(4162.456, abs=0.0005)


def test_qn_ebgm_and_quantiles_match_the_posterior_vignette(processed: pl.DataFrame) -> None:
    n, e = processed["N"].to_numpy().astype(float), processed["E"].to_numpy()
    scores = dp.gps_scores(THETA_SQUASHED, n, e)
    qn_head = [0.2819737, 0.3409653, 0.3482317, 0.2819737, 0.2226356, 0.2556670]
    assert scores.qn[:6] == pytest.approx(qn_head, abs=5e-8)
    # summary(qn): Min. 0.0001205, Mean 0.2846021, Max. 0.9999997
    assert scores.qn.min() == pytest.approx(0.0001205, abs=5e-8)
    assert scores.qn.mean() == pytest.approx(0.2846021, abs=5e-8)
    assert scores.qn.max() == pytest.approx(0.9999997, abs=5e-8)
    assert scores.ebgm[:6] == pytest.approx([2.23, 2.58, 2.63, 2.23, 1.92, 2.09], abs=0.005)
    assert scores.eb05[:6] == pytest.approx([0.49, 0.52, 0.52, 0.49, 0.47, 0.48], abs=0.01)
    assert scores.eb95[:6] == pytest.approx([13.85, 15.78, 16.02, 13.85, 11.77, 12.95], abs=0.01)
    # suspicious <- processed[processed$QUANT_05 >= 2, ]: 131 of 17,189 pairs (on openEBGM's rounded QUANT_05)
    assert int(np.sum(np.round(scores.eb05, 2) >= 2)) == 131


# head(suspicious, 5): var1, var2, N, E, QUANT_05, ebgm, QUANT_95
TOP_FIVE = [
    ("REUMOFAN PLUS", "WEIGHT INCREASED", 16, 0.40643623, 15.68, 23.26, 33.48),
    ("HYDROXYCUT REGULAR RAPID RELEASE CAPLETS", "EMOTIONAL DISTRESS", 19, 0.89690107, 11.65, 16.78, 23.55),
    ("REUMOFAN PLUS", "IMMOBILE", 6, 0.07866508, 10.16, 18.28, 30.83),
    ("HYDROXYCUT HARDCORE CAPSULES", "CARDIO-RESPIRATORY DISTRESS", 8, 0.30482718, 9.00, 15.25, 24.52),
    ("HYDROXYCUT REGULAR RAPID RELEASE CAPLETS", "INJURY", 11, 0.56317044, 8.98, 14.28, 21.78),
]


@pytest.mark.parametrize("fitted", [False, True], ids=["vignette-prior", "our-fit"])
def test_the_five_strongest_signals_match(processed: pl.DataFrame, squashed2: dp.Squashed, fitted: bool) -> None:
    theta = (
        dp.fit_gps(squashed2.n, squashed2.e, squashed2.weight, starts=THETA_INIT).theta if fitted else THETA_SQUASHED
    )
    n, e = processed["N"].to_numpy().astype(float), processed["E"].to_numpy()
    scores = dp.gps_scores(theta, n, e)
    ranked = processed.with_columns(q05=scores.eb05, ebgm=scores.ebgm, q95=scores.eb95).sort("q05", descending=True)
    for row, (drug, event, count, expected, q05, ebgm, q95) in zip(
        ranked.head(5).iter_rows(named=True), TOP_FIVE, strict=True
    ):
        assert (row["var1"], row["var2"], row["N"]) == (drug, event, count)
        assert row["E"] == pytest.approx(expected, abs=5e-9)
        assert row["q05"] == pytest.approx(q05, abs=0.01)
        assert row["ebgm"] == pytest.approx(ebgm, abs=0.005)
        assert row["q95"] == pytest.approx(q95, abs=0.01)


def test_a_start_that_finds_the_prior_with_its_components_swapped_counts_as_the_same_prior(
    squashed2: dp.Squashed,
) -> None:
    """The mixture P·Gamma(α1, β1) + (1-P)·Gamma(α2, β2) is the same prior as its mirror; a start beginning near
    the mirror of openEBGM's estimate must agree with one beginning near the estimate (not a 'different prior')."""
    a1, b1, a2, b2, p = THETA_SQUASHED
    mirrored = (a2, b2, a1, b1, 1 - p)
    assert dp.neg_log_likelihood(mirrored, squashed2.n, squashed2.e, squashed2.weight) == pytest.approx(
        dp.neg_log_likelihood(THETA_SQUASHED, squashed2.n, squashed2.e, squashed2.weight)
    )
    fit = dp.fit_gps(squashed2.n, squashed2.e, squashed2.weight, starts=[mirrored, THETA_INIT[0]])
    assert fit.num_close == 1 and fit.p < 0.5
    assert np.all(np.abs(fit.theta - THETA_SQUASHED) <= TEN_PERCENT_OF_AUTOHYPER_TOL), fit.theta
    assert all(float(s["p"]) <= 0.5 for s in fit.starts)


# openEBGM 0.9.1 run on caers.csv (processRaw, autoSquash, autoHyper from the vignette's starting values, ebScores);
# the recipe and the printed estimates are in data/README.md.
OPENEBGM_RUN_THETA = np.array([3.26241122578, 0.40045848850, 2.02411486287, 1.90607849814, 0.06523486836])


def test_every_pair_agrees_with_openebgm_run_on_the_same_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole pipeline (ingest, scan: counting, autoSquash, the prior fit, posterior scores) against the output
    of openEBGM itself, for all 17,189 pairs: the same pairs and counts, E to 1e-9, the hyperparameters within
    autoHyper's closeness tolerance, EBGM within openEBGM's 2-decimal rounding, EB05/EB95 within its rounding plus
    its bisection tolerance (0.005 + 0.005)."""
    import gzip

    from kratomwatch.surveillance import ingest, scan

    monkeypatch.setenv("KRATOMWATCH_HOME", str(tmp_path))
    with gzip.open(DATA.parent / "openebgm_0.9.1_caers_scores.csv.gz", "rb") as handle:
        theirs = pl.read_csv(handle.read(), schema_overrides={"var1": pl.String, "var2": pl.String})
    assert theirs.height == 17189
    ingest.ingest([DATA], "openebgm")
    result = scan.scan("openebgm", as_reported=True)
    fit = result.summary["fit"]
    ours_theta = np.array([fit[k] for k in ("alpha1", "beta1", "alpha2", "beta2", "p")])
    assert np.all(np.abs(ours_theta - OPENEBGM_RUN_THETA) < np.array(dp.CLOSE) / 10), ours_theta
    joined = result.table.join(theirs, left_on=["drug", "event"], right_on=["var1", "var2"], how="full")
    assert joined.height == 17189 and joined["n"].null_count() == 0 and joined["N"].null_count() == 0
    assert (joined["n"] == joined["N"]).all()
    assert float((joined["expected"] - joined["E"]).abs().max()) < 1e-9
    assert float((joined["ebgm"] - joined["EBGM"]).abs().max()) <= 0.005 + 1e-9
    assert float((joined["eb05"] - joined["QUANT_05"]).abs().max()) <= 0.01
    assert float((joined["eb95"] - joined["QUANT_95"]).abs().max()) <= 0.01
    # With openEBGM's own hyperparameters, our posterior scores match its printed ones to its rounding too.
    at_theirs = dp.gps_scores(OPENEBGM_RUN_THETA, joined["n"].to_numpy().astype(float), joined["expected"].to_numpy())
    assert float(np.max(np.abs(at_theirs.ebgm - joined["EBGM"].to_numpy()))) <= 0.005 + 1e-9
