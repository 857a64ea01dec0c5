"""tlkit.experiments.recorded: reading the benchmark's evidence and repeating one run at its validated budget."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from tlkit import data, plots
from tlkit.experiments import recorded
from tlkit.errors import CorruptFileError, InputShapeError, MissingFileError, TlkitError, UnknownNameError
from tlkit.plots import PlotArgumentError


def _choice(rate, steps, augmentation=True):
    return {"learning_rate": rate, "augmentation": augmentation, "epochs": steps, "steps": steps, "validation_accuracy": 0.5}


def _curve(*accuracies):
    return [{"epochs": 100 * (i + 1), "steps": 100 * (i + 1), "test_accuracy": a} for i, a in enumerate(accuracies)]


@pytest.fixture
def report():
    """A small report in the benchmark's format (numbers made up for the arithmetic)."""
    return {
        "split": {"name": "related", "source_classes": [0, 1, 2, 3, 5, 7, 8], "target_classes": [4, 6, 9]},
        "protocol": "text",
        "protocol_settings": {
            "learning_rates": [0.001, 0.003], "augmentation": [True], "max_steps": 1600, "check_every_steps": 100,
            "batch_size": 16, "dropout": 0.3, "fine_tune_head_steps": 200, "fine_tune_factor": 0.1,
            "validation_per_class": 50, "condition": "customer_photos",
        },
        "seeds": [0, 1, 2],
        "base": {"weights": "fashion_related_varied"},
        "results": {
            "5": {
                "seeds": [0, 1, 2],
                "strategies": {
                    "scratch": {"mean": 0.70, "chosen": [_choice(0.001, 1212), _choice(0.003, 808), _choice(0.001, 1313)]},
                    "partial": {"mean": 0.78, "chosen": [_choice(0.003, 101), _choice(0.003, 909), _choice(0.001, 404, False)]},
                    "fine_tune": {"mean": 0.75, "chosen": [_choice(0.001, 101), _choice(0.001, 101), _choice(0.001, 202)]},
                },
                "accuracy_vs_steps": {"scratch": _curve(0.5, 0.6), "partial": _curve(0.7, 0.8), "fine_tune": _curve(0.6, 0.7)},
                "gain_pts": 8.0, "ci_low": 2.5, "ci_high": 13.5,
            }
        },
    }


def test_the_shipped_results_load_and_name_their_base():
    report = recorded.load_results()
    assert report["base"]["weights"] == "fashion_related_varied"
    assert set(report["results"]) == {"5", "10"}


def test_a_missing_corrupt_or_incomplete_results_file_gets_a_clear_error(tmp_path, report):
    with pytest.raises(MissingFileError, match="transfer_gain.py"):
        recorded.load_results(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CorruptFileError, match="broken.json"):
        recorded.load_results(broken)
    incomplete = tmp_path / "incomplete.json"
    del report["protocol_settings"]
    incomplete.write_text(json.dumps(report))
    with pytest.raises(CorruptFileError, match="protocol_settings"):
        recorded.load_results(incomplete)


def test_the_validated_budget_is_the_most_chosen_rate_and_the_median_length(report):
    scratch = recorded.validated_protocol(report, 5, "scratch")
    assert scratch.learning_rates == (0.001,) and scratch.augmentation == (True,)
    assert scratch.max_steps == 1300  # median 1212 steps, rounded up to whole checks of 100
    partial = recorded.validated_protocol(report, 5, "partial")
    assert partial.learning_rates == (0.003,) and partial.augmentation == (True,) and partial.max_steps == 500
    assert recorded.validated_protocol(report, 5, "fine_tune").max_steps == 300
    assert partial.validation_per_class == 50 and partial.batch_size == 16  # the rest is the benchmark's


def test_a_tie_between_learning_rates_goes_to_the_smaller(report):
    chosen = report["results"]["5"]["strategies"]["scratch"]["chosen"]
    chosen[:] = [_choice(0.003, 100), _choice(0.001, 100)]
    protocol = recorded.validated_protocol(report, 5, "scratch")
    assert protocol.learning_rates == (0.001,)
    assert protocol.max_steps == 300  # never shorter than fine_tune's head phase and one check


def test_unknown_k_or_strategy_names_what_the_report_has(report):
    with pytest.raises(UnknownNameError, match="'5'"):
        recorded.validated_protocol(report, 7, "scratch")
    with pytest.raises(UnknownNameError, match="partial"):
        recorded.validated_protocol(report, 5, "frozen")


def test_gain_lines_quote_the_recorded_gain_and_interval(report):
    (line,) = recorded.gain_lines(report)
    assert line.startswith("k = 5: scratch 70.0%, partial 78.0%, fine_tune 75.0%")
    assert "+8.0 points (95% CI +2.5 to +13.5, 3 seeds)" in line


def test_a_live_run_trains_each_strategy_at_its_budget_and_tests_it(report):
    target = data.target_task(data.load_fashion_mnist(), split="related")
    tiny = copy.deepcopy(report)
    tiny["protocol_settings"].update(max_steps=2, check_every_steps=1, fine_tune_head_steps=1, batch_size=4, validation_per_class=3)
    for stats in tiny["results"]["5"]["strategies"].values():
        stats["chosen"] = [_choice(0.001, 2)]
    with pytest.raises(UnknownNameError):  # k = 1 was never measured
        recorded.run_at_validated_budget(target, tiny, k=1, seed=0)
    tiny["results"]["1"] = tiny["results"].pop("5")
    runs = recorded.run_at_validated_budget(target, tiny, k=1, seed=0, strategies=("scratch", "partial"))
    assert set(runs) == {"scratch", "partial"}
    for run in runs.values():
        assert run["budget"] == {"learning_rate": 0.001, "augmentation": True, "max_steps": 2}
        assert run["choice"]["steps"] <= 2 and len(run["curve"]) == 2
        assert 0.0 <= run["test"]["customer_photos"] <= 1.0 and 0.0 <= run["test"]["plain"] <= 1.0
    panels, stopped = recorded.run_panels(runs, "one seed")
    assert list(panels["one seed"]) == ["scratch", "partial"] and stopped["one seed"]["scratch"] == runs["scratch"]["choice"]["steps"]


def test_a_live_run_refuses_a_target_of_another_split(report):
    course_target = data.target_task(data.load_fashion_mnist())  # five classes; the report's split has three
    with pytest.raises(TlkitError, match="'related'"):
        recorded.run_at_validated_budget(course_target, report, k=5)


def test_steps_figure_has_one_panel_per_k_and_a_dot_where_validation_stopped(report):
    panels, stopped = recorded.steps_panels(report)
    (title,) = panels
    assert stopped[title] == {"scratch": 1212.0, "partial": 404.0, "fine_tune": 101.0}
    figure = plots.plot_accuracy_vs_steps(panels, stopped, chance=1 / 3)
    (axis,) = figure.axes
    labels = [line.get_label() for line in axis.lines]
    assert plots.STRATEGY_LABELS["partial"] in labels and "chance" in labels
    dots = [line for line in axis.lines if line.get_marker() == "o"]
    assert len(dots) == 3
    assert np.allclose(dots[0].get_ydata(), [60.0])  # scratch stopped near 1212 steps: its last point, 60%


@pytest.mark.parametrize("panels", [{}, {"k": {}}, {"k": {"scratch": []}}, {"k": {"scratch": [{"steps": 1}]}}, [1, 2]])
def test_steps_figure_rejects_malformed_curves(panels):
    with pytest.raises(PlotArgumentError, match="plot_accuracy_vs_steps"):
        plots.plot_accuracy_vs_steps(panels)


def test_show_varied_draws_each_image_and_its_customer_photos():
    images = data.load_fashion_mnist().test.images[:2]
    figure = plots.show_varied(images, ["first", "second"], copies=3)
    assert len(figure.axes) == 2 * 4
    assert figure.axes[0].get_title() == "first"
    with pytest.raises(InputShapeError, match="show_varied"):
        plots.show_varied(images[..., 0])
    with pytest.raises(InputShapeError, match="class names"):
        plots.show_varied(images, ["only one"])


def test_a_strategy_has_the_same_colour_whichever_strategies_share_its_figure(report):
    panels, _ = recorded.steps_panels(report)
    (title,) = panels
    only_fine_tune = {title: {"scratch": panels[title]["scratch"], "fine_tune": panels[title]["fine_tune"]}}
    colours = []
    for figure_panels in (panels, only_fine_tune):
        (axis,) = plots.plot_accuracy_vs_steps(figure_panels).axes
        colours.append({line.get_label(): line.get_color() for line in axis.lines})
    label = plots.STRATEGY_LABELS["fine_tune"]
    assert colours[0][label] == colours[1][label] == plots.STRATEGY_COLORS["fine_tune"]
    assert len(set(plots.STRATEGY_COLORS.values())) == len(plots.STRATEGY_COLORS)


def _with_labels_curve(report, scratch_by_k, transfer_runs):
    """``report`` with scratch runs at several k (the recorded k = 5 and labels_curve) and transfer's runs at k = 5."""
    report = copy.deepcopy(report)
    entry = report["results"]["5"]
    entry["strategies"]["scratch"]["runs"] = scratch_by_k.pop(5)
    entry["transfer_runs"] = transfer_runs
    report["labels_curve"] = {str(k): {"seeds": [0, 1, 2], "strategies": {"scratch": {"runs": runs}}} for k, runs in scratch_by_k.items()}
    return report


def test_labels_to_match_interpolates_on_log_labels_where_scratch_reaches_transfer(report):
    # scratch 0.70 at 5, 0.76 at 20, 0.80 at 80; transfer 0.73 at 5: halfway between 5 and 20 on a log axis, i.e. 10
    matched = _with_labels_curve(report, {5: [0.70] * 3, 20: [0.76] * 3, 80: [0.80] * 3}, [0.73] * 3)
    match = recorded.labels_to_match(matched, 5, resamples=200)
    assert match["labels_per_class"] == pytest.approx(10.0, abs=0.05) and match["ratio"] == 2.0
    assert match["ci_low"] == pytest.approx(10.0, abs=0.05) and match["ci_high"] == pytest.approx(10.0, abs=0.05)  # no spread
    assert match["scratch_accuracy"] == {"5": 0.70, "20": 0.76, "80": 0.80} and match["largest_k"] == 80
    assert match["seeds"] == {"5": 3, "20": 3, "80": 3} and match["not_reached_share"] == 0.0


def test_labels_to_match_says_so_when_scratch_never_gets_there(report):
    plateau = _with_labels_curve(report, {5: [0.70] * 3, 20: [0.74] * 3, 80: [0.74] * 3}, [0.75] * 3)
    match = recorded.labels_to_match(plateau, 5, resamples=200)
    assert match["labels_per_class"] is None and match["ratio"] is None and match["ci_high"] is None
    assert match["not_reached_share"] == 1.0
    plateau["labels_to_match"] = {"5": match}
    assert "not reached by scratch within 80" in recorded.labels_to_match_line(plateau)


def test_labels_to_match_interval_follows_the_seeds(report):
    noisy = _with_labels_curve(report, {5: [0.66, 0.70, 0.74], 20: [0.72, 0.76, 0.80], 80: [0.78, 0.80, 0.82]}, [0.71, 0.73, 0.75])
    match = recorded.labels_to_match(noisy, 5, resamples=500)
    assert match["ci_low"] < match["labels_per_class"] < match["ci_high"]
    assert recorded.labels_to_match(noisy, 5, resamples=500) == match  # seeded: the same interval every time


def test_labels_to_match_figure_draws_scratch_transfer_and_where_they_meet(report):
    matched = _with_labels_curve(report, {5: [0.70] * 3, 20: [0.76] * 3, 80: [0.80] * 3}, [0.73] * 3)
    matched["labels_to_match"] = {"5": recorded.labels_to_match(matched, 5, resamples=50)}
    (axis,) = plots.plot_recorded_labels_to_match(matched).axes
    assert axis.get_xscale() == "log" and [tick.get_text() for tick in axis.get_xticklabels()] == ["5", "20", "80"]
    assert any(text.get_text() == "5 → 10" for text in axis.texts)
    with pytest.raises(PlotArgumentError, match="plot_labels_to_match"):
        plots.plot_labels_to_match({}, {5: [0.7]})


def test_a_recorded_seed_reads_each_strategys_choice_and_accuracy_for_that_seed(report):
    for name, runs in (("scratch", [0.70, 0.71, 0.69]), ("partial", [0.78, 0.80, 0.76]), ("fine_tune", [0.75, 0.74, 0.76])):
        report["results"]["5"]["strategies"][name]["runs"] = runs
    seed_runs = recorded.recorded_seed(report, k=5, seed=1, strategies=("scratch", "partial"))
    assert seed_runs == {"scratch": {"choice": _choice(0.003, 808), "test": {"customer_photos": 0.71}},
                         "partial": {"choice": _choice(0.003, 909), "test": {"customer_photos": 0.80}}}
    assert list(recorded.recorded_seed(report, k=5)) == ["scratch", "partial", "fine_tune"]
    with pytest.raises(UnknownNameError, match="seed"):
        recorded.recorded_seed(report, k=5, seed=7)
    with pytest.raises(UnknownNameError, match="frozen"):
        recorded.recorded_seed(report, k=5, strategies=("frozen",))
