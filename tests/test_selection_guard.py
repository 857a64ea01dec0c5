"""Selection never sees test images: the guard, and every notebook source's selection calls run through it.

A *selection call* is one whose data decides a choice: ``fit(validation_data=...)`` (epochs,
learning rate, early stopping, checkpoints), ``data.validation_split`` (the pool validation images are
drawn from), the fair protocol (``tune_strategy``, ``few_shot_with_validation``, ``fair_comparison``,
``run_at_validated_budget``).  For every such call in ``tools/notebooks/*.py`` the test executes the
statements its data argument depends on (cheap data statements only: loading, few-shot draws,
validation draws) and passes the value through :func:`tlkit.data.refuse_test_split`, the same guard
the helpers apply when the notebook runs.
"""

from __future__ import annotations

import ast
import builtins
import pathlib

import numpy as np
import pytest

from tlkit import data, experiments, training

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_SOURCES = sorted((ROOT / "tools" / "notebooks").glob("[0-9][0-9]_*.py"))

#: Selection calls by the called name: how to find the data they choose on.
#: ``("arg", i, keyword)``: that argument is a split / images; ``("dataset", i, keyword)``: a Dataset whose
#: training pool the call draws validation images from.
SELECTION_CALLS = {
    "validation_split": ("arg", 0, "pool"),
    "validation_data": ("arg", 0, "split"),
    "tune_strategy": ("arg", 2, "validation"),
    "few_shot_with_validation": ("arg", 0, "pool"),
    "fair_comparison": ("dataset", 0, "target"),
    "run_at_validated_budget": ("dataset", 0, "target"),
    "run_gap_grid": ("dataset", 0, "target"),
    "run_layer_transfer": ("dataset", 0, "dataset"),
}
#: Calls a data slice must never contain (they train models; the slice is meant to be cheap).
EXPENSIVE_CALLS = {"fit", "train_on_target", "transfer_grid", "fair_comparison", "run_at_validated_budget", "tune_strategy"}


def _called_name(call: ast.Call) -> str | None:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    if isinstance(function, ast.Name):
        return function.id
    return None


def _argument(call: ast.Call, position: int, keyword: str):
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    return call.args[position] if len(call.args) > position else None


def _names_in(node) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _defined_by(statement) -> set:
    names = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def selection_problems(source: str, label: str) -> list[str]:
    """Run every selection call's data in ``source`` through the guard; return what is wrong (empty: nothing)."""
    module = ast.parse(source)
    statements = module.body
    # a demonstration of the guard (`try: ... except data.TestDataInSelectionError`) is meant to be refused
    demonstrations = {
        id(inner)
        for node in ast.walk(module)
        if isinstance(node, ast.Try) and any("TestDataInSelectionError" in ast.unparse(h.type or ast.Constant(None)) for h in node.handlers)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    problems, checked = [], 0
    for top_index, top in enumerate(statements):
        for node in ast.walk(top):
            if not isinstance(node, ast.Call) or id(node) in demonstrations:
                continue
            name = _called_name(node)
            where = f"{label} line {node.lineno}"
            if name == "fit":
                expression = next((k.value for k in node.keywords if k.arg == "validation_data"), None)
                if expression is None or (isinstance(expression, ast.Call) and _called_name(expression) == "validation_data"):
                    continue  # no validation data, or training.validation_data(...), checked as its own call
                kind = "arg"
                folder = _folder_pipeline_source(expression, statements[:top_index])
                if folder is not None:  # a tf.data pipeline read from a folder: check the split written there
                    expression = folder
            elif name in SELECTION_CALLS:
                kind, position, keyword = SELECTION_CALLS[name]
                expression = _argument(node, position, keyword)
            else:
                continue
            if expression is None:
                problems.append(f"{where}: {name}(...) without its data argument")
                continue
            try:
                value = _evaluate(expression, statements[:top_index], source)
            except _Untraceable as error:
                problems.append(f"{where}: {name}(...): {error}")
                continue
            target = value.train if kind == "dataset" else value
            try:
                data.refuse_test_split(target, f"{where}: {name}")
            except data.TestDataInSelectionError as error:
                problems.append(str(error))
            checked += 1
    return problems


def _folder_pipeline_source(expression, earlier: list):
    """If ``expression`` derives from ``image_dataset_from_directory(folder, ...)``: the split written into ``folder``."""
    needed = _names_in(expression)
    for statement in reversed(earlier):
        defined = _defined_by(statement)
        if not defined & needed or isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        reader = next((n for n in ast.walk(statement) if isinstance(n, ast.Call) and _called_name(n) == "image_dataset_from_directory"), None)
        if reader is None:
            needed = (needed - defined) | _names_in(statement) | (needed & _names_in(statement))
            continue
        if not reader.args or not isinstance(reader.args[0], ast.Name):
            return None
        folder = reader.args[0].id
        for writer in earlier:
            for call in ast.walk(writer):
                if (isinstance(call, ast.Call) and _called_name(call) == "write_image_folder" and len(call.args) > 1
                        and isinstance(call.args[1], ast.Name) and call.args[1].id == folder):
                    return call.args[0]
        return None
    return None


class _Untraceable(Exception):
    pass


def _evaluate(expression, earlier: list, source: str):
    """Evaluate ``expression`` after the earlier top-level statements it depends on (and the imports)."""
    needed, chosen = set(_names_in(expression)), []
    for statement in reversed(earlier):
        defined = _defined_by(statement)
        is_import = isinstance(statement, (ast.Import, ast.ImportFrom))
        if is_import or defined & needed:
            if not is_import:
                calls = {_called_name(n) for n in ast.walk(statement) if isinstance(n, ast.Call)}
                if calls & EXPENSIVE_CALLS:
                    raise _Untraceable(f"its data depends on training ({', '.join(sorted(calls & EXPENSIVE_CALLS))}); "
                                       "draw selection data in plain data statements")
                needed = (needed - defined) | _names_in(statement)
            chosen.append(statement)
    namespace: dict = {}
    for statement in reversed(chosen):
        try:
            exec(compile(ast.Module([statement], type_ignores=[]), "<notebook source>", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - reported as a problem of the source
            raise _Untraceable(f"the statement at line {statement.lineno} it depends on fails: {error}") from None
    unresolved = {n for n in _names_in(expression) if n not in namespace and not hasattr(builtins, n)}
    if unresolved:
        raise _Untraceable(f"cannot trace {', '.join(sorted(unresolved))} to a top-level statement before the call")
    return eval(compile(ast.Expression(expression), "<notebook source>", "eval"), namespace)


# ---------------------------------------------------------------------------
# The guard itself


@pytest.fixture(scope="module")
def target():
    return data.target_task(data.load_fashion_mnist())


def test_loaded_splits_carry_their_role_through_draws(target):
    assert (target.train.role, target.test.role) == ("train", "test")
    assert data.few_shot(target.test, 5).role == "test"
    assert target.test.take([0, 1]).role == "test"
    from tlkit import variation

    assert variation.customer_photos(target.test.take(range(10))).role == "test"


def test_validation_split_is_drawn_from_the_pool_apart_from_the_labelled_examples(target):
    examples = data.few_shot(target.train, 20, seed=0)
    validation = data.validation_split(target.train, 50, seed=0, exclude=examples)
    assert validation.role == "validation" and len(validation) == 250
    assert np.bincount(validation.labels).tolist() == [50] * 5
    assert not set(data._fingerprints(validation.images)) & set(data._fingerprints(examples.images))
    assert data.validation_split(target.train, 50, seed=0, exclude=examples).images.tobytes() == validation.images.tobytes()


@pytest.mark.parametrize("shape", ["split", "images", "pair", "relabelled"])
def test_every_selection_helper_refuses_test_images_in_any_shape(target, shape):
    test_images = data.few_shot(target.test, 10, seed=3)
    given = {
        "split": test_images,
        "images": test_images.images,
        "pair": (test_images.images, test_images.labels),
        "relabelled": data.LabelledImages(test_images.images, test_images.labels, test_images.class_names, "validation"),
    }[shape]
    with pytest.raises(data.TestDataInSelectionError, match="fit\\(validation_data=...\\).*test"):
        training.validation_data(given)
    if shape in ("split", "relabelled"):
        examples = data.few_shot(target.train, 5)
        with pytest.raises(data.TestDataInSelectionError, match="tune_strategy\\('frozen'\\)"):
            experiments.tune_strategy("frozen", examples, given)
        with pytest.raises(data.TestDataInSelectionError, match="data.validation_split"):
            data.validation_split(given, 2)
        with pytest.raises(data.TestDataInSelectionError, match="few_shot_with_validation"):
            experiments.few_shot_with_validation(given, 2, 0, 2)
        with pytest.raises(data.TestDataInSelectionError, match="few_shot_with_validation"):
            experiments.fair_comparison(data.Dataset(given, given), [2], [0], progress=False)


def test_validation_images_from_the_training_pool_pass(target):
    validation = data.validation_split(target.train, 10)
    x, y = training.validation_data(validation)
    assert x is validation.images and y is validation.labels


# ---------------------------------------------------------------------------
# Every notebook source


@pytest.mark.parametrize("path", NOTEBOOK_SOURCES, ids=lambda p: p.stem)
def test_notebook_selection_calls_never_see_test_images(path):
    problems = selection_problems(path.read_text(), path.name)
    assert not problems, "\n".join(problems)


def test_the_notebook_check_catches_validation_drawn_from_the_test_split():
    leaking = (
        "from tlkit import data, training\n"
        "target = data.target_task(data.load_fashion_mnist())\n"
        "validation_split = data.few_shot(target.test, k=50, seed=0)\n"
        "model.fit(x, y, validation_data=training.validation_data(validation_split))\n"
    )
    problems = selection_problems(leaking, "leaking.py")
    assert len(problems) == 1 and "leaking.py line 4" in problems[0] and "refused a test split" in problems[0]
    bare = leaking.replace("data.few_shot(target.test, k=50, seed=0)", "data.few_shot(target.test, k=50, seed=0).images")
    assert "test images" in selection_problems(bare, "bare.py")[0]
    unguarded = leaking.replace("training.validation_data(validation_split)", "(validation_split.images, validation_split.labels)")
    assert "test images" in selection_problems(unguarded, "unguarded.py")[0]
    untraced = "model.fit(x, y, validation_data=(x_val, y_val))\n"
    assert "cannot trace x_val, y_val" in selection_problems(untraced, "untraced.py")[0]
    folder = (
        "from tlkit import data\nimport keras\n"
        "target = data.target_task(data.load_fashion_mnist())\n"
        "data.write_image_folder(data.few_shot(target.test, k=5), photo_folder)\n"
        "train_ds, val_ds = keras.utils.image_dataset_from_directory(photo_folder, validation_split=0.3, subset='both')\n"
        "model.fit(train_ds, validation_data=val_ds)\n"
    )
    assert "refused a test split" in selection_problems(folder, "folder.py")[0]
    protocol = (
        "from tlkit import data\nfrom tlkit.experiments import recorded\n"
        "target = data.target_task(data.load_fashion_mnist())\n"
        "runs = recorded.run_at_validated_budget(data.Dataset(target.test, target.test), {}, k=5)\n"
    )
    assert "refused a test split" in selection_problems(protocol, "protocol.py")[0]


def test_keep_best_on_validation_restores_the_best_epoch_and_needs_validation_data():
    import keras

    from tlkit.errors import TlkitError

    training.set_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, size=64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    keep, snapshots = training.KeepBestOnValidation(), []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    history = model.fit(x, y, epochs=6, validation_data=(x[:32], y[:32]), callbacks=[record, keep], verbose=0)
    values = history.history["val_accuracy"]
    assert keep.best_epoch == int(np.argmax(values)) + 1 and keep.best == max(values)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[keep.best_epoch - 1]))
    with pytest.raises(TlkitError, match="validation_data=training.validation_data"):
        model.fit(x, y, epochs=1, callbacks=[training.KeepBestOnValidation()], verbose=0)
