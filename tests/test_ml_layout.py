"""The ML half's layout: one home per concept, public doors only, old names kept for the notebooks.

``tlkit/experiments/`` and ``tlkit/plots/`` are subpackages; ``tlkit.fair_benchmark``,
``tlkit.plots_steps`` and ``tlkit.plots_evaluation`` re-export their names for the
notebooks, silently.  Renamed names warn.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SUBPACKAGES = ("experiments", "plots")
#: The ML modules every public name of which is declared in ``__all__``.
ML_MODULES = [
    "tlkit/data.py", "tlkit/models.py", "tlkit/training.py", "tlkit/pretrain.py", "tlkit/errors.py", "tlkit/heads.py",
    "tlkit/freezing.py", "tlkit/features.py", "tlkit/evaluation.py", "tlkit/variation.py", "tlkit/negative_transfer.py",
    "tlkit/layer_transfer.py", "tlkit/fair_benchmark.py", "tlkit/plots_steps.py", "tlkit/plots_evaluation.py",
    *sorted(str(path.relative_to(ROOT)) for name in SUBPACKAGES for path in (ROOT / "tlkit" / name).glob("*.py")),
]


def _module_name(path: str) -> str:
    return path[:-3].replace("/", ".").removesuffix(".__init__")


@pytest.mark.parametrize("path", ML_MODULES)
def test_every_ml_module_declares_its_public_names(path):
    import importlib

    module = importlib.import_module(_module_name(path))
    assert hasattr(module, "__all__"), f"{path} has no __all__"
    assert [name for name in module.__all__ if not hasattr(module, name)] == []
    tree = ast.parse((ROOT / path).read_text())
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
               and not node.name.startswith("_") and node.name != "main"}  # main: the module's command line
    assert defined <= set(module.__all__), f"{path}: public but not in __all__: {sorted(defined - set(module.__all__))}"


def test_no_module_outside_a_subpackage_uses_its_private_names():
    offenders = []
    for path in sorted((ROOT / "tlkit").rglob("*.py")):
        relative = path.relative_to(ROOT / "tlkit")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                for package in SUBPACKAGES:
                    inside = relative.parts[0] == package
                    if node.module.startswith(f"tlkit.{package}") and not inside:
                        offenders += [f"{relative}: {node.module}.{alias.name}" for alias in node.names if alias.name.startswith("_")]
    assert offenders == []


def test_the_names_the_notebooks_use_import_without_a_warning():
    code = (
        "from tlkit import evaluation, experiments, plots, negative_transfer, layer_transfer\n"
        "experiments.fair_comparison, experiments.FairProtocol, experiments.CURVE_EVERY, evaluation.accuracy\n"
        "experiments.paired_interval, experiments.few_shot_with_validation, experiments.tune_on_arrays\n"
        "plots.plot_accuracy_vs_labels, plots.plot_learning_curves, plots.new_figure, plots.show_image_grid\n"
        "plots.plot_accuracy_vs_steps, plots.show_varied, plots.plot_gap_heatmap, plots.plot_layer_transfer\n"
        "experiments.recorded.load_results, experiments.recorded.run_at_validated_budget, experiments.recorded.steps_panels\n"
        "layer_transfer.weight_layers, negative_transfer.run_gap_grid\n"
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_notebook_sources_use_no_deprecated_name():
    sources = "\n".join(path.read_text() for path in sorted((ROOT / "tools" / "notebooks").glob("[0-9][0-9]_*.py")))
    for old in ("fair_benchmark", "plots_steps", "plots_evaluation", "experiments.accuracy", "negative_transfer.plot_",
                "layer_transfer.plot_"):
        assert old not in sources, old


@pytest.mark.parametrize("module", ["tlkit.fair_benchmark", "tlkit.plots_steps", "tlkit.plots_evaluation"])
def test_the_old_modules_warn_when_imported(module):
    code = f"import warnings\nwarnings.simplefilter('error')\nimport {module}\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "DeprecationWarning" in result.stderr and "is deprecated" in result.stderr, result.stderr


@pytest.mark.parametrize("module, old", [
    ("tlkit.negative_transfer", "plot_gap_heatmap"), ("tlkit.negative_transfer", "plot_setting"),
    ("tlkit.layer_transfer", "plot_layer_transfer"),
])
def test_moved_figures_warn_and_answer_with_the_plots_one(module, old):
    import importlib

    from tlkit import plots

    with pytest.warns(DeprecationWarning, match=f"tlkit.plots.{old}"):
        assert getattr(importlib.import_module(module), old) is getattr(plots, old)


@pytest.mark.parametrize("module, old, new", [
    ("tlkit.experiments", "TargetTrainingBudget", "TrainingBudget"),
    ("tlkit.data", "SOURCE_CLASSES", "SOURCE_CLASS_LABELS"),
    ("tlkit.data", "TARGET_CLASSES", "TARGET_CLASS_LABELS"),
    ("tlkit.models", "SOURCE_CLASSES", "SOURCE_CLASS_COUNT"),
])
def test_renamed_names_warn_and_answer_with_the_new_one(module, old, new):
    import importlib

    imported = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=new):
        assert getattr(imported, old) == getattr(imported, new)


def test_one_definition_of_the_shared_concepts():
    from tlkit import experiments, negative_transfer, plots

    assert negative_transfer.TRANSFER_STRATEGIES is experiments.strategies.TRANSFER_STRATEGIES
    assert plots.plot_accuracy_vs_steps is plots.steps.plot_accuracy_vs_steps
    assert plots.STRATEGY_COLORS is plots.style.STRATEGY_COLORS
    texts = "\n".join(path.read_text() for path in (ROOT / "tlkit").rglob("*.py"))
    for definition in ("def paired_interval(", "def few_shot_with_validation(", "def validation_split(", "def freeze_for(",
                       "TRANSFER_STRATEGIES = (", "CACHED_STRATEGIES = (", "class CachedBase", "class FeatureCache"):
        assert texts.count(definition) == 1, definition
    # the validation carve-out is drawn in one place: the fair protocol's draw goes through data.validation_split
    assert "data.validation_split(" in (ROOT / "tlkit" / "experiments" / "validation.py").read_text()
    assert texts.count("seed + 7919,") == 1
