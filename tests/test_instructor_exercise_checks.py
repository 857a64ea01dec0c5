"""Checks the grader relies on: the checks of notebooks 01-06 refuse the tricks that fooled them, and accept honest variants.

q3 is judged in the grader's checker on the checker's own data (the course's
held-out images with their real labels, the base compared with the weights the
kit ships), so a model that was never trained cannot pass by setting its
optimizer's step counter and relabelling ``y_val`` with its own predictions.
Notebook 06's q2-q4 are judged on the checker's own images the same way, and
the questions of notebooks 03-05 that read the notebook's numbers (constants,
the recorded grids) get the checker's copy of them.
"""

from __future__ import annotations

import ast
import importlib
import json
import pathlib
import warnings

import keras
import numpy as np
import pytest

from exercise_helpers import tiny_base, tiny_images
from tlkit import models
from tlkit.exercises import nb01_feature_extraction as ex
from tlkit.instructor import checker, kernel_side

warnings.filterwarnings("ignore", message=".*trainable.*")


def judged_by_the_checker(module, question: str, student: dict, names: list, folder) -> dict:
    """Save ``student``'s evidence for ``question`` as the grader's cell would, and judge it in the checker."""
    kernel_side.save_evidence(student, {"folder": str(folder / "evidence" / question), "question": question, "names": names,
                                        "exercise_module": module.__name__, "alias": "ex", "watched_modules": []})
    records = []
    checker.run_job({"exercise_module": module.__name__, "module_paths": [], "watched_modules": [],
                     "submissions": [{"key": "student", "artifacts": str(folder / "evidence"), "questions": [question]}]},
                    records.append)
    return json.loads(json.dumps(records))[0]["questions"][question]


def frozen_tiny_base():
    base = tiny_base()
    base.trainable = False
    return base


def test_q4_refuses_features_cast_to_float16(namespace):
    base = frozen_tiny_base()
    images, _ = tiny_images(40)
    namespace.update(base=base, x_train=images)
    namespace["train_features"] = base.predict(images, verbose=0)
    assert ex.q4.check().status == "correct"
    namespace["train_features"] = base.predict(images, verbose=0).astype("float16")
    result = ex.q4.check()
    assert result.status == "incorrect" and "float16" in result.message, result.message


def test_q4_refuses_features_computed_with_training_true(namespace):
    base = frozen_tiny_base()
    images, _ = tiny_images(40)
    namespace.update(base=base, x_train=images)
    assert ex.q1.check().status == "correct"  # the exercise keeps a copy of the frozen base's weights
    base.trainable = True
    for start in range(0, len(images), 8):  # batch statistics, and moving averages pulled towards them
        for _ in range(5):
            base(images[start:start + 8], training=True)
    base.trainable = False
    namespace["train_features"] = base.predict(images, verbose=0)  # agrees with the changed base
    result = ex.q4.check()
    assert result.status == "incorrect" and "training=True" in result.message, result.message


def test_q2_accepts_a_subclassed_model_with_a_softmax_head(namespace):
    base = frozen_tiny_base()

    class Classifier(keras.Model):
        def __init__(self, base):
            super().__init__()
            self.head = keras.layers.Dense(5, activation="softmax")  # assigned first, applied last
            self.base = base

        def call(self, inputs):
            return self.head(self.base(inputs))

    model = Classifier(base)
    model(np.zeros((1, 28, 28, 1), "float32"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    namespace.update(base=base, model=model)
    result = ex.q2.check()
    assert result.status == "correct", result.message


def test_q3_with_no_held_out_images_says_so(namespace):
    base = frozen_tiny_base()
    model = keras.Sequential([base, keras.layers.Dense(5, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    images, labels = tiny_images(20)
    model.fit(images, labels, epochs=1, verbose=0)
    namespace.update(base=base, model=model, x_val=images[:0], y_val=labels[:0], base_weights_before=base.get_weights())
    result = ex.q3.check()
    assert result.status == "incorrect" and "holds no images" in result.message, result.message
    assert "UnboundLocalError" not in result.message


def test_q3_cannot_be_forged_with_the_step_counter_and_self_labelled_data(tmp_path):
    """The attack: an untrained head, optimizer.iterations set by hand, y_val set to the model's own predictions."""
    data = ex.grader_data()
    base = models.load_base("fashion_cnn", include_top=False)
    base.trainable = False
    model = keras.Sequential([base, keras.layers.Dense(5, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(1)
    x_val = data["x_val"]
    y_val = model.predict(x_val, verbose=0).argmax(axis=-1)
    student = {"ex": ex, "base": base, "model": model, "x_val": x_val, "y_val": y_val,
               "base_weights_before": base.get_weights()}
    namespace = dict(student)
    ex.bind(namespace)
    assert ex.q3.check().status == "correct"  # the student's own kernel is fooled...
    folder = tmp_path / "evidence" / "q3"
    kernel_side.save_evidence(student, {"folder": str(folder), "question": "q3",
                                        "names": ["model", "base", "x_val", "y_val", "base_weights_before"],
                                        "exercise_module": ex.__name__, "alias": "ex", "watched_modules": []})
    records = []
    checker.run_job({"exercise_module": ex.__name__, "module_paths": [], "watched_modules": [],
                     "submissions": [{"key": "forger", "artifacts": str(tmp_path / "evidence"), "questions": ["q3"]}]},
                    records.append)
    q3 = json.loads(json.dumps(records))[0]["questions"]["q3"]
    assert q3["status"] == "incorrect", q3  # ...the grader's checker is not
    assert "accuracy" in q3["message"], q3["message"]


def test_the_checkers_own_data_is_the_notebooks_held_out_split():
    from tlkit import data

    own = ex.grader_data()
    target = data.target_task(data.load_fashion_mnist())
    held_out = data.few_shot(target.test, k=50, seed=0)
    assert np.array_equal(own["x_val"], held_out.images) and np.array_equal(own["y_val"], held_out.labels)
    import pathlib

    script = pathlib.Path(__file__).resolve().parents[1] / "tools" / "notebooks" / "01_feature_extraction.py"
    assert f"data.few_shot(target.test, k={ex.VALIDATION_PER_CLASS}, seed=0)" in script.read_text(encoding="utf-8")


@pytest.mark.parametrize("question", ["q3", "q4"])
def test_questions_judged_on_the_checkers_data_declare_it(question):
    assert getattr(type(ex.exercise[question]), "grader_data", None) == "grader_data"


# -- notebook 06: q2-q4 are judged on the checker's own images ------------------------------------------------


def test_nb06_questions_that_read_images_are_judged_on_the_checkers_data():
    from tlkit.exercises import nb06_put_it_to_work as ex06

    for question in ("q2", "q3", "q4"):
        assert getattr(type(ex06.exercise[question]), "grader_data", None) == "grader_data", question
    assert getattr(type(ex06.exercise["q1"]), "grader_data", None) is None  # q1's x_val is the student's answer


def test_nb06_checkers_images_are_the_notebooks_new_photos_read_as_the_notebook_reads_them():
    import pathlib

    from tlkit import data
    from tlkit.exercises import nb06_put_it_to_work as ex06

    own = ex06.grader_data()
    k = ex06.GRADER_IMAGES_PER_CLASS
    assert own["x_val"].shape == (5 * k, *ex06.GRADER_IMAGE_SIZE, 3) and own["x_val"].dtype == np.float32
    assert np.array_equal(np.bincount(own["y_val"]), [k] * 5)
    # the same images as the test split's few-shot draw, resized from 28x28 grey (label order: alphabetical folders)
    target = data.target_task(data.load_fashion_mnist())
    new = data.few_shot(target.test, k=k, seed=0)
    alphabetical = sorted(range(5), key=lambda label: target.test.class_names[label])
    assert [target.test.class_names[label] for label in alphabetical] == sorted(target.test.class_names)
    for label in range(5):
        assert np.isclose(own["x_val"][own["y_val"] == label].mean(), new.images[new.labels == alphabetical[label]].mean(),
                          rtol=0.02)
    script = pathlib.Path(__file__).resolve().parents[1] / "tools" / "notebooks" / "06_put_it_to_work.py"
    source = script.read_text(encoding="utf-8")
    assert f"IMAGE_SIZE = {ex06.GRADER_IMAGE_SIZE!r}" in source
    assert f"NEW_IMAGES_PER_CLASS = 100 if FULL else {k}" in source
    assert "data.few_shot(target.test, k=NEW_IMAGES_PER_CLASS, seed=0)" in source


def test_nb06_q4_cannot_be_forged_with_a_black_x_val(tmp_path):
    """The attack: any model as `reloaded`, and black images as `x_val`, on which any two such models agree."""
    from tlkit.exercises import nb06_put_it_to_work as ex06

    def tiny_classifier(seed):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((*ex06.GRADER_IMAGE_SIZE, 3))
        outputs = keras.layers.Dense(5, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
        return keras.Model(inputs, outputs)

    model, other = tiny_classifier(0), tiny_classifier(1)
    model_file = str(tmp_path / "my_classifier.keras")
    model.save(model_file)
    student = {"ex": ex06, "model": model, "reloaded": other, "model_file": model_file,
               "x_val": np.zeros((8, *ex06.GRADER_IMAGE_SIZE, 3), dtype="float32")}
    ex06.bind(dict(student))
    assert ex06.q4.check().status == "correct"  # the student's own kernel is fooled...
    q4 = judged_by_the_checker(ex06, "q4", student, ["model_file", "reloaded", "model", "x_val"], tmp_path)
    assert q4["status"] == "incorrect", q4  # ...the grader's checker is not
    assert "predicts differently" in q4["message"], q4["message"]


# -- notebook 02: q2's reference is the shipped base ---------------------------------------------------------


def test_nb02_q2_cannot_be_forged_with_a_copy_taken_after_training(tmp_path):
    """The attack: the base changed, the "before" copy taken after the change, and the answer "unchanged"."""
    from tlkit.exercises import nb02_freezing as ex02

    base = models.load_base("fashion_cnn", include_top=False)
    kernel = next(layer for layer in base.layers if layer.weights)
    kernel.weights[0].assign(kernel.weights[0] + 0.5)  # what training an unfrozen base does
    student = {"ex": ex02, "base": base, "base_weights_before": base.get_weights(), "weights_unchanged": True}
    ex02.bind(dict(student))
    assert ex02.q2.check().status == "correct"  # the student's own kernel is fooled...
    q2 = judged_by_the_checker(ex02, "q2", student, ["weights_unchanged", "base", "base_weights_before"], tmp_path)
    assert q2["status"] == "incorrect", q2  # ...the grader's checker is not
    assert "weights_unchanged" in q2["message"], q2["message"]


def test_nb02_an_honest_unchanged_base_still_passes_in_the_checker(tmp_path):
    from tlkit.exercises import nb02_freezing as ex02

    base = models.load_base("fashion_cnn", include_top=False)
    student = {"ex": ex02, "base": base, "base_weights_before": base.get_weights(), "weights_unchanged": True}
    assert judged_by_the_checker(ex02, "q2", student, ["weights_unchanged", "base", "base_weights_before"], tmp_path)["status"] == "correct"


# -- notebooks 03-05: the notebook's context comes from the checker ----------------------------------------


NOTEBOOK_SOURCES = pathlib.Path(__file__).resolve().parents[1] / "tools" / "notebooks"


def notebook_constants(stem: str) -> dict:
    """Every ``name = <number>`` assignment at the top level of a notebook source's cells."""
    tree = ast.parse((NOTEBOOK_SOURCES / f"{stem}.py").read_text(encoding="utf-8"))
    return {node.targets[0].id: node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, (int, float))}


@pytest.mark.parametrize(("module_name", "questions"), [
    ("nb03_fine_tuning", ["q1"]),
    ("nb04_negative_transfer", ["q1", "q2", "q3"]),
    ("nb05_layer_choice", ["q1", "q2", "q3"]),
])
def test_questions_that_read_the_notebooks_context_are_given_the_checkers(module_name, questions):
    module = importlib.import_module(f"tlkit.exercises.{module_name}")
    for question in questions:
        assert getattr(type(module.exercise[question]), "grader_data", None) == "grader_data", question


def test_the_constants_the_checker_passes_are_the_ones_the_notebooks_set():
    from tlkit.exercises import nb03_fine_tuning as ex03
    from tlkit.exercises import nb05_layer_choice as ex05

    nb03 = notebook_constants("03_fine_tuning")
    assert {name: nb03[name] for name in ex03.NOTEBOOK_CONSTANTS} == ex03.NOTEBOOK_CONSTANTS == ex03.grader_data()
    nb05 = notebook_constants("05_layer_choice")
    own = ex05.grader_data()
    assert nb05["n"] == own["n"] == ex05.COPIED_LAYERS and nb05["tolerance"] == own["tolerance"] == ex05.SAFE_DEPTH_TOLERANCE


def test_nb04_q1_cannot_be_forged_with_made_up_errors(tmp_path):
    from tlkit.exercises import nb04_negative_transfer as ex04

    student = {"ex": ex04, "frozen_error": 0.5, "scratch_error": 0.5, "ntg": 0.0, "is_negative_transfer": False}
    ex04.bind(dict(student))
    assert ex04.q1.check().status == "correct"  # the kernel believes its own numbers...
    q1 = judged_by_the_checker(ex04, "q1", student, ["ntg", "is_negative_transfer", "frozen_error", "scratch_error"], tmp_path)
    assert q1["status"] == "incorrect", q1  # ...the checker uses the recorded grid's


def test_nb04_honest_answers_from_the_recorded_grid_pass_in_the_checker(tmp_path):
    from tlkit import negative_transfer
    from tlkit.exercises import nb04_negative_transfer as ex04

    own = ex04.grader_data()
    student = {"ex": ex04, **own, "ntg": own["frozen_error"] - own["scratch_error"],
               "is_negative_transfer": own["frozen_error"] > own["scratch_error"],
               "gap_estimate": negative_transfer.gap_with_interval(1 - np.array(own["frozen_accuracies"]),
                                                                   1 - np.array(own["scratch_accuracies"])),
               "chosen_strategy": max(own["validation_accuracy"], key=own["validation_accuracy"].get)}
    names = {"q1": ["ntg", "is_negative_transfer", "frozen_error", "scratch_error"],
             "q2": ["gap_estimate", "frozen_accuracies", "scratch_accuracies"],
             "q3": ["chosen_strategy", "validation_accuracy", "test_accuracy"]}
    for question, saved in names.items():
        assert judged_by_the_checker(ex04, question, student, saved, tmp_path / question)["status"] == "correct", question


def test_nb05_q3_cannot_be_forged_with_made_up_results(tmp_path):
    from tlkit import layer_transfer
    from tlkit.exercises import nb05_layer_choice as ex05

    flat = layer_transfer.LayerTransferResults([1, 2, 3, 4], [0], [0.9], [0.9], {variant: {n: [0.9] for n in (1, 2, 3, 4)} for variant in layer_transfer.VARIANTS})
    student = {"ex": ex05, "results": flat, "tolerance": 0.05, "safe_depth": 4}
    ex05.bind(dict(student))
    assert ex05.q3.check().status == "correct"
    q3 = judged_by_the_checker(ex05, "q3", student, ["safe_depth", "results", "tolerance"], tmp_path)
    assert q3["status"] == "incorrect", q3
    honest = dict(student, safe_depth=layer_transfer.freezing_advice(ex05.grader_data()["results"], 0.05)["deepest_safe_frozen_n"])
    assert judged_by_the_checker(ex05, "q3", honest, ["safe_depth", "results", "tolerance"], tmp_path / "honest")["status"] == "correct"
