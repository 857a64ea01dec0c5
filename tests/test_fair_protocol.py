"""The fair protocol of tlkit.experiments: selection never sees test data, runs repeat, arms are what they say."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tlkit import data, experiments, models, variation

TINY = experiments.FairProtocol(
    learning_rates=(1e-3, 1e-2), augmentation=(False, True), max_steps=2, check_every_steps=1,
    fine_tune_head_steps=1, batch_size=10, validation_per_class=4,
)


@pytest.fixture(scope="module")
def target():
    return data.target_task(data.load_fashion_mnist())


def _choices(comparison):
    return {
        (k, seed, strategy): run["choice"]
        for k, per_seed in comparison["runs"].items()
        for seed, per_strategy in per_seed.items()
        for strategy, run in per_strategy.items()
    }


@pytest.fixture(scope="module")
def tiny_run(target):
    return experiments.fair_comparison(target, [2], [0], strategies=("scratch", "partial", "fine_tune"), protocol=TINY, progress=False)


def test_selection_never_looks_at_the_test_split(target, tiny_run):
    rng = np.random.default_rng(0)
    poisoned_test = data.LabelledImages(
        rng.integers(0, 256, size=target.test.images.shape, dtype=np.uint8),
        rng.permutation(target.test.labels),
        target.test.class_names,
    )
    poisoned = data.Dataset(target.train, poisoned_test)
    again = experiments.fair_comparison(poisoned, [2], [0], strategies=("scratch", "partial", "fine_tune"), protocol=TINY, progress=False)
    assert _choices(again) == _choices(tiny_run)  # same learning rates, augmentation, epochs, validation accuracies
    assert all(run["test"] != tiny_run["runs"][2][0][s]["test"] for s, run in again["runs"][2][0].items())


def test_the_test_split_is_read_only_after_every_choice(target, monkeypatch):
    events = []
    real_in_condition, real_tune = experiments.in_condition, experiments.tune_strategy

    def spy_condition(split, condition, seed):
        events.append("test" if split is target.test else "validation")
        return real_in_condition(split, condition, seed)

    def spy_tune(*args, **kwargs):
        events.append("tune")
        return real_tune(*args, **kwargs)

    # patched where fair_comparison looks them up
    monkeypatch.setattr(experiments.protocol, "in_condition", spy_condition)
    monkeypatch.setattr(experiments.protocol, "tune_strategy", spy_tune)
    protocol = dataclasses.replace(TINY, learning_rates=(1e-3,), augmentation=(False,))
    experiments.fair_comparison(target, [2], [0, 1], strategies=("scratch", "frozen"), protocol=protocol, progress=False)
    first_test = events.index("test")
    assert events[:first_test] == ["validation", "tune", "tune"]  # the whole first (k, seed) was chosen before
    assert events.count("test") == 2  # built once per condition, never per choice


def test_validation_is_drawn_from_the_training_pool_disjoint_from_the_examples(target):
    examples, validation, used = experiments.few_shot_with_validation(target.train, 3, seed=4, validation_per_class=5)
    reference = data.few_shot(target.train, 3, seed=4)
    assert np.array_equal(examples.images, reference.images) and np.array_equal(examples.labels, reference.labels)
    assert np.array_equal(target.train.images[np.sort(used)], target.train.take(np.sort(used)).images)
    example_bytes = {image.tobytes() for image in examples.images}
    assert not any(image.tobytes() in example_bytes for image in validation.images)
    assert np.bincount(validation.labels).tolist() == [5] * 5


def test_the_same_seed_gives_identical_results(target, tiny_run):
    again = experiments.fair_comparison(target, [2], [0], strategies=("scratch", "partial", "fine_tune"), protocol=TINY, progress=False)
    for strategy, run in tiny_run["runs"][2][0].items():
        assert again["runs"][2][0][strategy]["choice"] == run["choice"]
        assert again["runs"][2][0][strategy]["test"] == run["test"]


def test_the_random_weights_arm_is_random_and_frozen_like_partial():
    pretrained = models.load_base(include_top=False)
    model, base = experiments.build_fair_model("random_partial", 5)
    conv = base.get_layer("block2_conv").get_weights()[0]
    assert not np.allclose(conv, pretrained.get_layer("block2_conv").get_weights()[0])
    partial_model, partial_base = experiments.build_fair_model("partial", 5)
    assert np.array_equal(partial_base.get_layer("block2_conv").get_weights()[0], pretrained.get_layer("block2_conv").get_weights()[0])
    trainable = lambda b: [layer.name for layer in b.layers if layer.trainable and layer.weights]  # noqa: E731
    assert trainable(base) == trainable(partial_base) == [models.FEATURE_LAYER]
    assert model.get_layer("head_output") is not None  # built by heads.add_head


def test_paired_interval_on_known_numbers():
    interval = experiments.paired_interval([1.0, 2.0, 3.0])
    assert interval["mean"] == 2.0 and interval["n"] == 3
    # t(0.975, 2) = 4.302653; standard error 1 / sqrt(3)
    assert interval["ci_low"] == pytest.approx(2.0 - 4.302653 / np.sqrt(3), abs=1e-5)
    assert interval["ci_high"] == pytest.approx(2.0 + 4.302653 / np.sqrt(3), abs=1e-5)
    with pytest.raises(Exception):
        experiments.paired_interval([1.0])


@pytest.mark.parametrize("low, high, expected", [
    (1.2, 4.0, "up"), (-4.0, -1.2, "down"), (-3.0, 3.0, "no difference shown"),
    (0.2, 4.0, "too close to call"), (-4.0, -0.3, "too close to call"), (-0.9, 1.5, "too close to call"),
])
def test_a_verdict_needs_the_interval_to_clear_0_by_the_margin(low, high, expected):
    assert experiments.read_interval({"ci_low": low, "ci_high": high}, "up", "down") == expected


def test_the_gap_verdict_reads_its_interval_with_the_same_rule():
    from tlkit import negative_transfer

    estimate = negative_transfer.GapEstimate(mean=0.02, low=0.005, high=0.04, confidence=0.95, differences=(0.01, 0.02, 0.03))
    assert estimate.verdict == "too close to call"
    estimate = dataclasses.replace(estimate, low=0.015)
    assert estimate.verdict == "negative transfer"


def test_the_last_check_is_where_every_run_of_the_protocol_ends(target, tiny_run):
    last = TINY.last_check_steps(2 * len(target.class_names))
    for strategy, run in tiny_run["runs"][2][0].items():
        assert run["curve"][-1]["steps"] == last, strategy
    # the related split's recorded budgets: 15 and 30 labelled images, checks rounded to whole epochs
    assert experiments.FairProtocol(max_steps=2400).last_check_steps(15) == 2424
    assert experiments.FairProtocol(max_steps=2400).last_check_steps(30) == 2400


def test_summary_pairs_transfer_chosen_on_validation_with_scratch(tiny_run):
    entry = experiments.fair_summary(tiny_run)[2]
    run = tiny_run["runs"][2][0]
    picked = entry["transfer_picked"][0]
    assert picked in ("partial", "fine_tune")
    assert run[picked]["choice"]["validation_accuracy"] == max(run[s]["choice"]["validation_accuracy"] for s in ("partial", "fine_tune"))
    assert entry["gain_per_seed_pts"][0] == pytest.approx(100 * (run[picked]["test"]["customer_photos"] - run["scratch"]["test"]["customer_photos"]), abs=0.01)
    # one check = 1 optimizer step = 1 epoch of 10 images in batches of 10
    assert [point["epochs"] for point in run["scratch"]["curve"]] == [1, 2]
    assert [point["steps"] for point in run["scratch"]["curve"]] == [1, 2]


def test_training_length_is_counted_in_optimizer_steps_whatever_the_number_of_labels():
    protocol = experiments.FairProtocol()
    for images in (10, 25, 50, 100):
        epochs = protocol.epochs_per_check(images)
        steps = -(-(epochs * images) // protocol.batch_size)  # one check trains its epochs as one stream of batches
        assert abs(steps - protocol.check_every_steps) <= 0.1 * protocol.check_every_steps
    assert protocol.checks * protocol.check_every_steps == protocol.max_steps
    with pytest.raises(Exception, match="multiple of check_every_steps"):
        experiments.FairProtocol(max_steps=150, check_every_steps=100)
    with pytest.raises(Exception, match="fine_tune_head_steps"):
        experiments.FairProtocol(max_steps=200, fine_tune_head_steps=200)


def test_vary_is_seeded_and_the_identity_variation_changes_nothing(target):
    images = target.test.images[:20]
    assert np.array_equal(variation.vary(images, seed=3), variation.vary(images, seed=3))
    assert not np.array_equal(variation.vary(images, seed=3), variation.vary(images, seed=4))
    still = variation.Variation(shift=0, rotation_degrees=0, zoom=(1, 1), flip=0, brightness=(1, 1))
    assert np.array_equal(variation.vary(images, still, seed=0), images)


def test_the_fair_results_file_records_protocol_choices_and_intervals(repo_root):
    """benchmarks/results/transfer_gain_course_split.json holds what the README quotes, and what the README says of it is true."""
    import json

    report = json.loads((repo_root / "benchmarks/results/transfer_gain_course_split.json").read_text())
    assert len(report["seeds"]) >= 5 and "protocol" in report and report["protocol_settings"]["max_steps"] >= 1600
    assert "optimizer steps" in report["protocol"]
    for k, entry in report["results"].items():
        for key in ("gain_pts", "ci_low", "ci_high", "transfer_picked", "accuracy_vs_steps", "plain_test", "pretraining_pts"):
            assert key in entry, (k, key)
        for strategy, stats in entry["strategies"].items():
            assert len(stats["chosen"]) == len(report["seeds"])
            assert all({"learning_rate", "augmentation", "steps", "validation_accuracy"} <= set(choice) for choice in stats["chosen"])
        # README: "the paired difference is within a few points of zero at both k, and its interval contains 0"
        assert entry["ci_low"] < 0 < entry["ci_high"] and abs(entry["gain_pts"]) < 3
        # README: frozen pre-trained convolutions beat frozen random ones
        assert entry["pretraining_pts"]["ci_low"] > 0
    shuffled = report["relatedness"]["fashion_source_shuffled_100"]
    # README: the base pre-trained on shuffled labels is clearly negative transfer
    assert all(entry["ci_high"] < 0 for entry in shuffled.values())
    # README: the clean base of the same recipe does better than the shuffled one; the interval clears 0 at k = 10
    clean = report["relatedness"]["fashion_source"]
    for k in clean:
        assert clean[k]["gain_pts"] > shuffled[k]["gain_pts"]
    differences = [100 * (a - b) for a, b in zip(clean["10"]["strategies"]["partial"]["runs"], shuffled["10"]["strategies"]["partial"]["runs"])]
    assert experiments.paired_interval(differences)["ci_low"] > 0


def test_the_related_split_results_back_what_the_readme_says(repo_root):
    """benchmarks/results/transfer_gain.json: the issue's fields, and the README's statements about them."""
    import json

    report = json.loads((repo_root / "benchmarks/results/transfer_gain.json").read_text())
    assert report["split"] == {"name": "related", "source_classes": [0, 1, 2, 3, 5, 7, 8], "target_classes": [4, 6, 9]}
    assert len(report["seeds"]) >= 5 and "optimizer steps" in report["protocol"]
    assert report["base"]["weights"] == "fashion_related_varied"
    for k, entry in report["results"].items():
        for strategy, stats in entry["strategies"].items():
            assert len(stats["chosen"]) == len(report["seeds"])
            assert all({"learning_rate", "augmentation", "steps", "validation_accuracy"} <= set(choice) for choice in stats["chosen"])
        # README: "beats scratch tuned just as carefully by about 5 points at both k, intervals above 0"
        assert entry["ci_low"] > 0 and 3.5 < entry["gain_pts"] < 6.5, k
        # README: random frozen convolutions are far behind
        assert entry["pretraining_pts"]["ci_low"] > 0, k
        # README: the plain test tells the same story with wider intervals
        assert entry["plain_test"]["gain_pts"] > 0 and entry["plain_test"]["ci_high"] - entry["plain_test"]["ci_low"] > entry["ci_high"] - entry["ci_low"], k
        # README: within about 200 steps partial reaches what scratch never reaches in the budget
        curves = entry["accuracy_vs_steps"]
        early = next(point for point in curves["partial"] if point["steps"] >= 200)
        assert early["steps"] <= 210 and early["test_accuracy"] > max(point["test_accuracy"] for point in curves["scratch"]), k
    # README: 10 seeds, scratch up to 2,400 steps; transfer is partial or fine_tune, chosen on validation
    assert len(report["seeds"]) == 10 and report["protocol_settings"]["max_steps"] == 2400
    assert {name for entry in report["results"].values() for name in entry["transfer_picked"]} == {"partial", "fine_tune"}


def test_a_longer_budget_helps_scratch_a_little_and_keeps_the_gain_above_zero(repo_root):
    """README: the earlier 1,600-step run starved scratch at k = 10 by about a point; 2,400 steps fixed that."""
    import json

    main = json.loads((repo_root / "benchmarks/results/transfer_gain_1600_steps.json").read_text())["results"]["10"]
    longer = json.loads((repo_root / "benchmarks/results/transfer_gain_k10_2400_steps.json").read_text())
    assert longer["protocol_settings"]["max_steps"] == 2400 and longer["seeds"] == [0, 1, 2, 3, 4]
    entry = longer["results"]["10"]
    assert entry["strategies"]["scratch"]["mean"] > main["strategies"]["scratch"]["mean"]
    assert entry["ci_low"] > 0 and entry["gain_pts"] < main["gain_pts"]
    # the figures the README quotes
    assert (round(100 * main["strategies"]["scratch"]["mean"], 1), round(100 * entry["strategies"]["scratch"]["mean"], 1)) == (73.5, 74.5)
    assert (round(main["gain_pts"], 1), round(entry["gain_pts"], 1), round(entry["ci_low"], 1), round(entry["ci_high"], 1)) == (5.3, 4.3, 2.7, 6.0)
    # partial stopped before 1,600 steps in both runs, so its results are the same
    assert entry["strategies"]["partial"]["runs"] == main["strategies"]["partial"]["runs"]


def test_the_broken_shuffled_base_is_withdrawn_with_its_reason(repo_root):
    """README: the first shuffled-label base was dead; its figures are withdrawn, kept with the reason, and quoted nowhere."""
    import json

    report = json.loads((repo_root / "benchmarks/results/transfer_gain.json").read_text())
    withdrawn = report["withdrawn"]["fashion_related_varied_shuffled_100"]
    assert "dead" in withdrawn["reason"] and withdrawn["base"]["sha256"] != models.model_card("fashion_related_varied_shuffled_100")["sha256"]
    for k, entry in withdrawn["relatedness"].items():
        # every run predicted one class: exactly a third of the three-class test set
        assert all(round(run, 4) == 0.3333 for run in entry["strategies"]["partial"]["runs"]), k
    readme = (repo_root / "README.md").read_text()
    assert "-38.8 (" not in readme and "33.3, -" not in readme


def test_the_rebuilt_shuffled_base_transfers_like_random_convolutions(repo_root):
    """README and notebook 04: the live shuffled base, measured as shipped, is below scratch and level with random_partial."""
    import json

    from tlkit.experiments import paired_interval

    report = json.loads((repo_root / "benchmarks/results/transfer_gain.json").read_text())
    weights = "fashion_related_varied_shuffled_100"
    assert report["relatedness_bases"][weights]["sha256"] == models.model_card(weights)["sha256"]
    readme = (repo_root / "README.md").read_text()
    quoted = []
    for k, entry in report["relatedness"][weights].items():
        assert entry["ci_high"] < 0 and 1 < -entry["gain_pts"] < 4, k
        shuffled = entry["strategies"]["partial"]["runs"]
        random_runs = report["results"][k]["strategies"]["random_partial"]["runs"]
        level = paired_interval([100 * (a - b) for a, b in zip(shuffled, random_runs)])
        assert level["ci_low"] < 0 < level["ci_high"], k
        quoted.append(f"{level['mean']:+.1f}, {level['ci_low']:+.1f} to {level['ci_high']:+.1f}, at k = {k}")
    prose = " ".join(readme.split())
    for text in quoted:
        assert text in prose, text


def test_a_distant_source_gives_no_gain_and_falls_clearly_below_the_related_one(repo_root):
    """README: the distant base is within a point and a half of scratch, about 4 points below the related base."""
    import json

    report = json.loads((repo_root / "benchmarks/results/transfer_gain.json").read_text())
    distant = report["relatedness"]["fashion_distant_varied"]
    for k, entry in distant.items():
        assert abs(entry["gain_pts"]) < 1.5 and entry["ci_low"] < 0 < entry["ci_high"], k
        below = entry["minus_main_base_pts"]
        assert below["ci_high"] < 0 and 3.5 < -below["mean"] < 6.5, k


def test_a_re_measurement_draws_its_figure_beside_its_results_not_over_the_readme_figure(repo_root, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("transfer_gain", repo_root / "benchmarks" / "transfer_gain.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    for split, scenario in benchmark.SCENARIOS.items():
        report = {"split": {"name": split}}
        assert benchmark.figure_path(report, scenario["results"]) == scenario["figure"]
        assert benchmark.figure_path(report, tmp_path / "recheck.json") == tmp_path / "recheck.png"


def test_another_base_is_compared_with_the_main_base_on_the_same_arms(repo_root):
    """A base that ran only partial is paired with the main base's partial, not with its best of partial and fine_tune."""
    import copy
    import importlib.util
    import json

    import numpy as np

    from tlkit.experiments import paired_interval

    spec = importlib.util.spec_from_file_location("transfer_gain", repo_root / "benchmarks" / "transfer_gain.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    report = json.loads((repo_root / "benchmarks/results/transfer_gain.json").read_text())
    assert json.dumps(benchmark.rescore_relatedness(copy.deepcopy(report))) == json.dumps(report), "the recorded relatedness is not what its runs give"
    for k, entry in report["relatedness"]["fashion_distant_varied"].items():
        assert entry["main_base_arms"] == ["partial"]
        main_partial = np.array(report["results"][k]["strategies"]["partial"]["runs"])
        expected = paired_interval(100 * (np.array(entry["strategies"]["partial"]["runs"]) - main_partial))
        assert round(expected["mean"], 2) == entry["minus_main_base_pts"]["mean"], k


def _benchmark(repo_root):
    import importlib.util

    spec = importlib.util.spec_from_file_location("transfer_gain", repo_root / "benchmarks" / "transfer_gain.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    return benchmark


def _fake_runs(work, jobs):
    """What run_jobs returns, made up (no training): accuracy grows with k, each seed a little different."""
    done, seconds = {}, {}
    for k, seed, weights, strategies, settings, split in work:
        accuracy = 0.6 + 0.05 * np.log(k) + 0.002 * seed
        done.setdefault((k, weights), {})[seed] = {
            strategy: {"choice": {"learning_rate": 0.001, "augmentation": True, "epochs": 10, "steps": 300, "validation_accuracy": 0.7},
                       "test": {"customer_photos": accuracy, "plain": accuracy + 0.05},
                       "curve": [{"epochs": 5, "steps": 100 * (i + 1), "test": {"customer_photos": accuracy, "plain": accuracy}} for i in range(3)]}
            for strategy in strategies}
        seconds[f"{k}/{seed}/{weights}"] = 1.0
    return done, seconds


def test_added_arms_leave_the_recorded_arms_and_the_headline_as_they_were(repo_root, tmp_path, monkeypatch):
    import json
    import shutil

    benchmark = _benchmark(repo_root)
    monkeypatch.setattr(benchmark, "run_jobs", _fake_runs)
    path = tmp_path / "transfer_gain.json"
    shutil.copy(repo_root / "benchmarks/results/transfer_gain.json", path)
    recorded = json.loads(path.read_text())
    # start from the file as it was before scratch ran at more labels per class
    recorded.pop("labels_curve", None)
    recorded.pop("labels_to_match", None)
    path.write_text(json.dumps(recorded))
    benchmark.main(["--out", str(path), "--add-arms", "frozen", "--ks", "5", "10", "--no-figure"])
    benchmark.main(["--out", str(path), "--add-arms", "scratch", "--ks", "20", "40", "--seeds", "0", "1", "--no-figure"])
    benchmark.main(["--out", str(path), "--add-arms", "scratch", "--ks", "20", "40", "--seeds", "2", "--no-figure"])
    report = json.loads(path.read_text())
    for k, entry in recorded["results"].items():
        for strategy, stats in entry["strategies"].items():
            if strategy != "frozen":  # the arm added again (with made-up numbers)
                assert report["results"][k]["strategies"][strategy] == stats
        for key in ("gain_pts", "ci_low", "ci_high", "transfer_picked", "per_strategy_gain_pts", "pretraining_pts"):
            if key == "per_strategy_gain_pts":
                assert ({s: v for s, v in report["results"][k][key].items() if s != "frozen"}
                        == {s: v for s, v in entry[key].items() if s != "frozen"})
            else:
                assert report["results"][k][key] == entry[key], (k, key)
        frozen = report["results"][k]["strategies"]["frozen"]
        expected = experiments.paired_interval(100 * (np.array(frozen["runs"]) - np.array(entry["strategies"]["scratch"]["runs"])))
        assert report["results"][k]["per_strategy_gain_pts"]["frozen"]["mean"] == round(expected["mean"], 2)
    assert report["relatedness"] == recorded["relatedness"] and report["transfer_candidates"] == ["partial", "fine_tune"]
    # more labels per class go to labels_curve, seeds merged in order
    assert list(report["labels_curve"]) == ["20", "40"] and report["labels_curve"]["20"]["seeds"] == [0, 1, 2]
    from tlkit.experiments import recorded as recorded_benchmark

    assert report["labels_to_match"] == {str(k): recorded_benchmark.labels_to_match(report, k) for k in (5, 10)}
    assert "--add-arms frozen --ks 5 10" in report["command"] and len(report["additions"]) == len(recorded.get("additions", [])) + 3


def test_feature_extraction_is_an_arm_of_the_related_benchmark_beside_the_headline(repo_root):
    """transfer_gain.json: frozen tuned like every arm, paired with the recorded scratch; the headline stays partial/fine_tune."""
    import json

    report = json.loads((repo_root / "benchmarks/results/transfer_gain.json").read_text())
    assert report["transfer_candidates"] == ["partial", "fine_tune"]
    for k, entry in report["results"].items():
        frozen = entry["strategies"]["frozen"]
        assert len(frozen["runs"]) == len(frozen["chosen"]) == len(report["seeds"]), k
        assert {choice["learning_rate"] for choice in frozen["chosen"]} <= set(report["protocol_settings"]["learning_rates"])
        expected = experiments.paired_interval(100 * (np.array(frozen["runs"]) - np.array(entry["strategies"]["scratch"]["runs"])))
        assert entry["per_strategy_gain_pts"]["frozen"] == {key: round(value, 2) for key, value in expected.items() if key != "n"}, k
        assert set(entry["transfer_picked"]) <= {"partial", "fine_tune"}


def test_feature_extraction_is_what_the_readme_says(repo_root):
    """README: frozen 74.2 / 78.0; above scratch (interval with 0 at k = 5, above 0 at k = 10); below partial at both k."""
    import json

    report = json.loads((repo_root / "benchmarks/results/transfer_gain.json").read_text())
    five, ten = report["results"]["5"], report["results"]["10"]
    assert (round(100 * five["strategies"]["frozen"]["mean"], 1), round(100 * ten["strategies"]["frozen"]["mean"], 1)) == (74.2, 78.0)
    assert five["per_strategy_gain_pts"]["frozen"]["ci_low"] < 0 < five["per_strategy_gain_pts"]["frozen"]["ci_high"]
    assert ten["per_strategy_gain_pts"]["frozen"]["ci_low"] > 0
    for entry in (five, ten):
        below = experiments.paired_interval(100 * (np.array(entry["strategies"]["frozen"]["runs"]) - np.array(entry["strategies"]["partial"]["runs"])))
        assert below["ci_high"] < 0
