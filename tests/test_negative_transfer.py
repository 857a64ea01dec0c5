"""Negative transfer gap: arithmetic, confidence interval, grid bookkeeping and input validation."""

from __future__ import annotations

import numpy as np
import pytest

from tlkit import data, experiments, plots
from tlkit import negative_transfer as nt
from tlkit.errors import CorruptFileError, MissingFileError, TlkitError, UnknownNameError


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
    ],
)
def test_misuse_raises_a_tlkit_error(call, words):
    with pytest.raises(TlkitError, match=words):
        call()


def _split(per_class=10, classes=3):
    labels = np.repeat(np.arange(classes), per_class)
    images = np.arange(len(labels), dtype=np.uint8).reshape(-1, 1, 1, 1) * np.ones((1, 28, 28, 1), np.uint8)
    return data.LabelledImages(images, labels, tuple(f"c{i}" for i in range(classes)))


def test_the_interval_is_the_one_every_comparison_uses():
    errors_with, errors_without = [0.30, 0.25, 0.28, 0.35], [0.20, 0.22, 0.21, 0.24]
    estimate = nt.gap_with_interval(errors_with, errors_without)
    reference = experiments.paired_interval(np.subtract(errors_with, errors_without))
    assert (estimate.mean, estimate.low, estimate.high) == pytest.approx((reference["mean"], reference["ci_low"], reference["ci_high"]))


def test_strategy_names_come_from_the_fair_protocol():
    assert nt.TRANSFER_STRATEGIES == experiments.TRANSFER_STRATEGIES
    assert set(nt.CACHED_STRATEGIES) <= set(experiments.FAIR_STRATEGIES)


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
    figure = plots.plot_gap_heatmap(grid, strategies=("frozen",))
    assert len(figure.axes) == 2  # the heatmap and its colour bar
    assert "NTG" in figure.axes[0].get_title()
    widget = nt.explore(grid)
    assert [type(child).__name__ for child in widget.container.children] == ["HBox", "Output"]
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "gap explorer" in bundle["text/plain"]
    assert "tlkit-static-note" in bundle["text/html"] and "+0.250" in bundle["text/html"]  # the frozen gap at ε = 1


def test_run_gap_grid_rejects_unknown_strategies_and_no_seeds():
    target = data.Dataset(_split(), _split())
    with pytest.raises(UnknownNameError, match="fine_tune"):
        nt.run_gap_grid(target, {0.0: "fashion_source"}, strategies=("fine_tuned",))
    with pytest.raises(nt.NegativeTransferError, match="at least one seed"):
        nt.run_gap_grid(target, {0.0: "fashion_source"}, seeds=[])
    with pytest.raises(nt.NegativeTransferError, match="augmentation"):
        nt.run_gap_grid(target, {0.0: "fashion_source"}, protocol=experiments.FairProtocol())
    with pytest.raises(nt.NegativeTransferError, match="FairProtocol"):
        nt.run_gap_grid(target, {0.0: "fashion_source"}, protocol=experiments.TrainingBudget())


def _trend_grid(scratch_5, scratch_50, frozen_5, frozen_50):
    scratch = {"validation": {5: scratch_5, 50: scratch_50}, "test": {5: scratch_5, 50: scratch_50}}
    frozen = {1.0: {5: frozen_5, 50: frozen_50}}
    return nt.GapGrid([1.0], [5, 50], [0, 1, 2], scratch, {"validation": {"frozen": frozen}, "test": {"frozen": frozen}})


def test_the_labels_trend_needs_intervals_apart_by_the_margin():
    rising = _trend_grid([0.8, 0.8, 0.8], [0.9, 0.9, 0.9], [0.79, 0.80, 0.81], [0.60, 0.61, 0.62])
    assert nt.labels_trend(rising, "frozen", 1.0) == "rises"
    falling = _trend_grid([0.8, 0.8, 0.8], [0.9, 0.9, 0.9], [0.60, 0.61, 0.62], [0.89, 0.90, 0.91])
    assert nt.labels_trend(falling, "frozen", 1.0) == "falls"
    overlapping = _trend_grid([0.8, 0.8, 0.8], [0.9, 0.9, 0.9], [0.70, 0.80, 0.75], [0.80, 0.85, 0.90])
    assert nt.labels_trend(overlapping, "frozen", 1.0) == "no clear change"


def test_the_heatmap_clips_intervals_to_the_possible_range():
    wild = _trend_grid([0.2, 0.9, 0.5], [0.9, 0.9, 0.9], [0.9, 0.2, 0.6], [0.6, 0.6, 0.6])
    assert wild.gap("frozen", 1.0, 5).high > 1  # three seeds this far apart: the t-interval runs past +1
    figure = nt.plot_gap_heatmap(wild, strategies=("frozen",))
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert any("+1.00]" in text for text in texts)
    assert not any(("+1." in text and "+1.00]" not in text) or "-1.0" in text.replace("-1.00", "") for text in texts)
    assert all("±" not in text for text in texts)


def test_a_grid_records_what_every_arm_chose_and_round_trips_it():
    grid = _grid()
    grid.choices = {"scratch": {5: [{"learning_rate": 0.001, "steps": 300}] * 3},
                    "frozen": {0.0: {5: [{"learning_rate": 0.01, "steps": 100}] * 3}, 1.0: {5: [{"learning_rate": 0.01, "steps": 200}] * 3}}}
    again = nt.GapGrid.from_dict(grid.to_dict())
    assert again.chosen("scratch", 1.0, 5)[0] == {"learning_rate": 0.001, "steps": 300}
    assert again.chosen("frozen", 1.0, 5)[2]["steps"] == 200


def test_a_tiny_grid_runs_end_to_end_and_records_every_arms_choice():
    import dataclasses

    target = data.Dataset(_split(per_class=8), _split(per_class=4))
    protocol = dataclasses.replace(nt.GRID_PROTOCOL, learning_rates=(1e-3, 1e-2), max_steps=2, check_every_steps=1,
                                   fine_tune_head_steps=1, batch_size=4, validation_per_class=2)
    grid = nt.run_gap_grid(target, {0.0: "fashion_source"}, labels_per_class=[2], seeds=[0, 1], protocol=protocol)
    assert grid.strategies == ["frozen", "partial"]
    for name in ("scratch", "frozen", "partial"):
        assert len(grid.accuracies(name, 0.0, 2)) == 2
        chosen = grid.chosen(name, 0.0, 2)
        # a check is whole epochs (FairProtocol.epochs_per_check): 6 examples in batches of 4 are 2 steps per check
        assert len(chosen) == 2 and all(c["learning_rate"] in (1e-3, 1e-2) and c["steps"] in (2, 4) for c in chosen)
    again = nt.GapGrid.from_dict(grid.to_dict())
    assert again.chosen("partial", 0.0, 2) == grid.chosen("partial", 0.0, 2)
    assert np.isfinite(grid.gap("partial", 0.0, 2).mean)


def test_a_one_seed_grid_gives_accuracies_but_no_gap():
    scratch = {split: {5: [0.8]} for split in ("validation", "test")}
    transfer = {split: {"frozen": {1.0: {5: [0.6]}}} for split in ("validation", "test")}
    grid = nt.GapGrid([1.0], [5], [0], scratch, transfer)
    assert grid.accuracies("frozen", 1.0, 5) == [0.6]
    with pytest.raises(nt.NegativeTransferError, match="at least 2 seeds"):
        grid.gap("frozen", 1.0, 5)


def test_the_recorded_grid_loads_and_a_broken_file_is_named(tmp_path):
    report, grid = nt.load_recorded()
    assert grid.seeds == report["seeds"] and grid.corruptions == sorted(float(e) for e in report["sources"])
    assert grid.gap("frozen", 1.0, max(grid.labels_per_class)).seeds == len(grid.seeds)
    broken = tmp_path / "negative_transfer.json"
    broken.write_text("{not json")
    with pytest.raises(CorruptFileError, match="negative_transfer.json"):
        nt.load_recorded(broken)
    with pytest.raises(MissingFileError, match="benchmarks/negative_transfer.py"):
        nt.load_recorded(tmp_path / "absent.json")
