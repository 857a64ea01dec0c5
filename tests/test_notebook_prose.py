"""Statements in the notebook sources that a review found wrong stay corrected.

The Keras behaviour behind them is measured in tests/test_keras_behaviour.py.
"""

from __future__ import annotations

import pathlib
import re

SOURCES = pathlib.Path(__file__).resolve().parents[1] / "tools" / "notebooks"


def _prose(name: str) -> str:
    """The markdown of a jupytext source, comment markers removed and lines joined."""
    lines = []
    in_markdown = False
    for line in (SOURCES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            in_markdown = "[markdown]" in line
            continue
        if in_markdown:
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    return re.sub(r"\s+", " ", " ".join(lines))


def test_trainable_is_said_to_be_read_at_the_first_fit():
    """Notebook 02: the training step, and with it the trainable flags, is built at the first fit."""
    prose = _prose("02_freezing.py")
    assert "read when `compile` prepares training" not in prose
    assert "at the first `fit` after `compile`" in prose


def test_first_layer_filters_are_not_called_edge_detectors():
    """Notebook 01: the pre-trained 3x3 filters look like random ones; the prose must not promise edge detectors."""
    prose = _prose("01_feature_extraction.py")
    assert "most filters are small edge and contrast detectors" not in prose
    assert "generic edge detectors" not in prose
    code = (SOURCES / "01_feature_extraction.py").read_text(encoding="utf-8")
    assert code.count("plots.show_filters(") == 1 and 'weights=None' in code  # shown beside random initial filters


def test_the_batchnorm_damage_is_described_with_its_size():
    """Notebook 02: trainable BatchNormalization costs under one point of source accuracy; say so."""
    prose = _prose("02_freezing.py")
    assert "under one percentage point" in prose
    assert "damage the base even without a gradient step" not in prose
    code = (SOURCES / "02_freezing.py").read_text(encoding="utf-8")
    assert "source_test = source.test\n" in code  # measured on the whole source test split, not 500 images


def test_forgetting_the_source_is_not_confused_with_hurting_the_target():
    """Notebook 03: the learning-rate sweep separates forgetting from target accuracy, and checks the reading."""
    prose = _prose("03_fine_tuning.py")
    assert "and with it the point of transferring" not in prose
    assert "*forgetting*" in prose and "not shown here to hurt the target task" in prose
    code = (SOURCES / "03_fine_tuning.py").read_text(encoding="utf-8")
    assert "the target accuracy varies by less than 15 points" in code


def test_unfreezing_the_whole_base_draws_no_conclusion_from_a_few_tiny_steps():
    """Notebook 03: ~21 steps at 1e-5 cannot show that the lower layers are generic; the notebook says so."""
    prose = _prose("03_fine_tuning.py")
    assert "rarely pays off" not in prose
    assert "lower layers compute generic features" not in prose
    assert "Do not read a conclusion into it" in prose
    code = (SOURCES / "03_fine_tuning.py").read_text(encoding="utf-8")
    assert "unfreezing the whole base for 3 more epochs moves the validation accuracy" not in code


def _code_cells(name: str) -> list[str]:
    cells, current, in_code = [], [], False
    for line in (SOURCES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            if in_code:
                cells.append("\n".join(current))
            current, in_code = [], "[markdown]" not in line
            continue
        current.append(line)
    if in_code:
        cells.append("\n".join(current))
    return cells


def test_no_code_cell_hides_a_section_heading():
    """A markdown heading written inside a code cell shows as a comment, not as a section (03 had one)."""
    for name in ("00_welcome.py", "01_feature_extraction.py", "02_freezing.py", "03_fine_tuning.py"):
        for cell in _code_cells(name):
            assert not any(line.startswith("# ## ") for line in cell.splitlines()), f"{name}: heading in a code cell:\n{cell[:300]}"


def test_no_comparison_shares_one_fixed_budget():
    """Notebooks 00-03 compare arms only under the fair protocol or at budgets it validated."""
    for name in ("00_welcome.py", "01_feature_extraction.py", "02_freezing.py", "03_fine_tuning.py"):
        code = (SOURCES / name).read_text(encoding="utf-8")
        assert "TrainingBudget(" not in code and "transfer_grid(" not in code, name
    assert "experiments.fair_comparison(" in (SOURCES / "02_freezing.py").read_text(encoding="utf-8")


def test_the_welcome_notebook_shows_its_own_quiz_and_does_not_claim_everything_is_live():
    prose = _prose("00_welcome.py")
    assert "every claim is measured in front of you" not in prose
    code = (SOURCES / "00_welcome.py").read_text(encoding="utf-8")
    assert 'quiz.show_quiz("00_welcome")' in code
