"""Negative transfer gap: arithmetic, confidence interval, grid bookkeeping and input validation."""

from __future__ import annotations

import numpy as np
import pytest

from tlkit import data, experiments
from tlkit import negative_transfer as nt
from tlkit.errors import TlkitError, UnknownNameError


def test_gap_is_error_with_source_minus_error_without():
    assert nt.negative_transfer_gap(0.18, 0.15) == pytest.approx(0.03)
    assert nt.negative_transfer_gap(0.10, 0.15) == pytest.approx(-0.05)
    gaps = nt.negative_transfer_gap([0.2, 0.3], [0.1, 0.35])
    np.testing.assert_allclose(gaps, [0.1, -0.05])


def test_error_rate_turns_accuracy_into_error():
    assert nt.error_rate(0.834) == pytest.approx(0.166)
    np.testing.assert_allclose(nt.error_rate([1.0, 0.25]), [0.0, 0.75])


def test_interval_on_known_numbers():
    # differences 0.01, 0.02, 0.03: mean 0.02, sd 0.01, t(0.975, df=2) = 4.302653
    estimate = nt.gap_with_interval([0.11, 0.22, 0.33], [0.10, 0.20, 0.30])
    half_width = 4.302653 * 0.01 / np.sqrt(3)
    assert estimate.mean == pytest.approx(0.02)
    assert estimate.low == pytest.approx(0.02 - half_width, abs=1e-6)
    assert estimate.high == pytest.approx(0.02 + half_width, abs=1e-6)
    assert estimate.differences == pytest.approx((0.01, 0.02, 0.03))
    assert estimate.seeds == 3
    # the interval contains 0, but its lower end is within the 0.01 margin of 0
    assert estimate.verdict == "too close to call"


def test_verdicts_follow_the_interval():
    assert nt.gap_with_interval([0.30, 0.31, 0.29], [0.10, 0.12, 0.11]).verdict == "negative transfer"
    assert nt.gap_with_interval([0.10, 0.12, 0.11], [0.30, 0.31, 0.29]).verdict == "positive transfer"
    text = str(nt.gap_with_interval([0.30, 0.31, 0.29], [0.10, 0.12, 0.11]))
    assert text.startswith("NTG +0.190 (95% CI") and "3 seeds): negative transfer" in text


def test_a_verdict_needs_the_interval_to_clear_zero_by_the_margin():
    def estimate(low, high):
        return nt.GapEstimate((low + high) / 2, low, high, 0.95, (low, (low + high) / 2, high))

    margin = nt.VERDICT_MARGIN
    assert estimate(margin + 0.001, 0.2).verdict == "negative transfer"
    assert estimate(margin - 0.001, 0.2).verdict == "too close to call"  # barely above 0: drift could flip it
    assert estimate(-0.2, -margin - 0.001).verdict == "positive transfer"
    assert estimate(-0.2, -margin + 0.001).verdict == "too close to call"
    assert estimate(-0.2, 0.2).verdict == "no clear difference"
    assert estimate(-0.005, 0.2).verdict == "too close to call"


def test_two_seeds_earn_no_verdict_however_clear_the_interval_looks():
    estimate = nt.gap_with_interval([0.50, 0.52], [0.10, 0.11])
    assert estimate.low > 0.05  # the interval is all above 0 ...
    assert estimate.verdict == "evidence too thin (a verdict needs at least 3 seeds)"  # ... but rests on two numbers
    assert str(estimate).endswith("2 seeds): evidence too thin (a verdict needs at least 3 seeds)")
    assert nt.gap_with_interval([0.50, 0.52, 0.51], [0.10, 0.11, 0.10]).verdict == "negative transfer"


def test_identical_differences_give_a_zero_width_interval():
    estimate = nt.gap_with_interval([0.2, 0.3], [0.1, 0.2])
    assert estimate.low == pytest.approx(0.1) and estimate.high == pytest.approx(0.1)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: nt.negative_transfer_gap([0.1, 0.2], [0.1]), "pair them seed by seed"),
        (lambda: nt.negative_transfer_gap(1.5, 0.1), "between 0 and 1"),
        (lambda: nt.negative_transfer_gap("a lot", 0.1), "must be numbers"),
        (lambda: nt.gap_with_interval([0.1], [0.2]), "at least 2 seeds"),
        (lambda: nt.gap_with_interval([0.1, 0.2], [0.2, 0.1], confidence=95), "confidence must be between 0 and 1"),
        (lambda: nt.few_shot_indices(np.array([0, 0, 1, 1]), 3, 0), "fewer than k = 3"),
        (lambda: nt.few_shot_indices(np.array([0, 1]), 0, 0), "positive integer"),
    ],
)
def test_misuse_raises_a_tlkit_error(call, words):
    with pytest.raises(TlkitError, match=words):
        call()


def _split(per_class=10, classes=3):
    labels = np.repeat(np.arange(classes), per_class)
    images = np.arange(len(labels), dtype=np.uint8).reshape(-1, 1, 1, 1) * np.ones((1, 28, 28, 1), np.uint8)
    return data.LabelledImages(images, labels, tuple(f"c{i}" for i in range(classes)))


def test_validation_split_is_disjoint_and_balanced():
    split = _split()
    pool, validation = nt.split_validation(split, 4, seed=0)
    assert len(pool) == 18 and len(validation) == 12
    assert np.bincount(validation.labels).tolist() == [4, 4, 4]
    assert not set(pool.images[:, 0, 0, 0]) & set(validation.images[:, 0, 0, 0])


def test_few_shot_indices_are_seeded_and_balanced():
    labels = np.repeat(np.arange(3), 10)
    first, again = nt.few_shot_indices(labels, 2, seed=5), nt.few_shot_indices(labels, 2, seed=5)
    assert first.tolist() == again.tolist()
    assert np.bincount(labels[first]).tolist() == [2, 2, 2]


def _grid():
    scratch = {"validation": {5: [0.80, 0.82, 0.81]}, "test": {5: [0.80, 0.80, 0.80]}}
    transfer = {
        "validation": {"frozen": {0.0: {5: [0.85, 0.86, 0.84]}, 1.0: {5: [0.5, 0.52, 0.51]}}},
        "test": {"frozen": {0.0: {5: [0.85, 0.85, 0.86]}, 1.0: {5: [0.50, 0.55, 0.60]}}},
    }
    return nt.GapGrid([0.0, 1.0], [5], [0, 1, 2], scratch, transfer)


def test_grid_gaps_tables_choice_and_round_trip():
    grid = _grid()
    assert grid.gap("frozen", 1.0, 5).mean == pytest.approx(0.25)
    table = grid.gap_table("frozen")
    assert table.shape == (2, 1) and table[0, 0] == pytest.approx(-0.0533333, abs=1e-6)
    assert grid.best_by_validation(0.0, 5) == "frozen" and grid.best_by_validation(1.0, 5) == "scratch"
    assert nt.expected_shapes(grid, k=5) == {
        "gap_positive_at_full_corruption": True, "gap_rises_with_corruption": True, "gap_rises_with_labels": False,
    }
    again = nt.GapGrid.from_dict(grid.to_dict())
    assert again.gap("frozen", 1.0, 5).mean == pytest.approx(0.25)
    with pytest.raises(UnknownNameError, match="partial"):
        grid.gap("partial", 1.0, 5)
    with pytest.raises(nt.NegativeTransferError, match="not run at k = 50"):
        grid.gap("frozen", 1.0, 50)


def test_plots_and_widget_build_from_a_grid():
    grid = _grid()
    figure = nt.plot_gap_heatmap(grid, strategies=("frozen",))
    assert len(figure.axes) == 2  # the heatmap and its colour bar
    assert "NTG" in figure.axes[0].get_title()
    widget = nt.explore(grid)
    assert [type(child).__name__ for child in widget.children] == ["HBox", "Output"]


def test_run_gap_grid_rejects_unknown_strategies_and_single_seeds():
    target = data.Dataset(_split(), _split())
    with pytest.raises(UnknownNameError, match="fine_tune"):
        nt.run_gap_grid(target, {0.0: "fashion_source"}, strategies=("fine_tuned",))
    with pytest.raises(nt.NegativeTransferError, match="at least 2 seeds"):
        nt.run_gap_grid(target, {0.0: "fashion_source"}, seeds=[0])
    with pytest.raises(nt.NegativeTransferError, match="translation must be 0"):
        nt.run_gap_grid(target, {0.0: "fashion_source"}, budget=experiments.TrainingBudget(translation=0.1))
