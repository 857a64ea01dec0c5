"""Evidence the grader saves in the student's kernel and rebuilds in the checker, value by value."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tlkit.instructor import checker, kernel_side
from tlkit.instructor.checker import ArtifactError
from tlkit.layer_transfer import LayerTransferResults
from tlkit.negative_transfer import GapEstimate, GapGrid, gap_with_interval


def round_trip(value, tmp_path):
    description = kernel_side._save_value("value", value, str(tmp_path), keras, np)
    description = json.loads(json.dumps(description))  # what the evidence file holds
    return description, checker._load_value("value", description, tmp_path)


def test_a_gap_estimate_comes_back_exactly(tmp_path):
    estimate = gap_with_interval([0.31, 0.287, 0.3333333], [0.1, 0.09, 0.111])
    description, loaded = round_trip(estimate, tmp_path)
    assert description["kind"] == "tlkit_result"
    assert loaded == estimate and isinstance(loaded, GapEstimate)


def test_grids_and_layer_results_come_back_unrounded(tmp_path):
    grid = GapGrid([0.0, 1.0], [5], [0, 1],
                   {"test": {5: [0.123456789, 0.5]}, "validation": {5: [0.2, 0.3]}},
                   {"test": {"frozen": {0.0: {5: [0.1, 0.2]}, 1.0: {5: [0.3, 0.4]}}},
                    "validation": {"frozen": {0.0: {5: [0.1, 0.2]}, 1.0: {5: [0.3, 0.4]}}}})
    _, loaded = round_trip(grid, tmp_path)
    assert loaded.scratch["test"][5][0] == 0.123456789 and loaded.corruptions == [0.0, 1.0]
    results = LayerTransferResults([1, 2], [0], [0.9012345], [0.8], {"AnB": {1: [0.8765432], 2: [0.5]}})
    _, loaded = round_trip(results, tmp_path)
    assert loaded.mean("AnB", 1) == 0.8765432 and loaded.base_b == [0.9012345]


def test_plain_dicts_of_numbers_come_back_and_objects_inside_do_not(tmp_path):
    description, loaded = round_trip({"scratch": 0.93, "frozen": 0.61}, tmp_path)
    assert description["kind"] == "json_container" and loaded == {"scratch": 0.93, "frozen": 0.61}
    description, loaded = round_trip({"model": object()}, tmp_path)
    assert description["kind"] == "unsupported"


def test_the_checker_rebuilds_only_known_result_types(tmp_path):
    forged = {"kind": "tlkit_result", "class": "os.system", "value": "echo hi"}
    with pytest.raises(ArtifactError, match="not a result type the grader rebuilds"):
        checker._load_value("grid", forged, tmp_path)
    broken = {"kind": "tlkit_result", "class": "tlkit.negative_transfer.GapEstimate", "value": {"mean": 1}}
    with pytest.raises(ArtifactError, match="the saved GapEstimate is malformed"):
        checker._load_value("gap_estimate", broken, tmp_path)
    with pytest.raises(ArtifactError, match="malformed JSON value"):
        checker._load_value("scores", {"kind": "json_container", "value": "not a container"}, tmp_path)
