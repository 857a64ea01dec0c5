"""Pre-training: label corruption, rotations, joint labels, and a tiny seeded run with its model card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tlkit import data, models, paths, pretrain
from tlkit.errors import TlkitError


def test_shuffle_labels_corrupts_the_requested_fraction_and_keeps_the_class_counts():
    labels = np.repeat(np.arange(5), 200)
    corrupted = pretrain.shuffle_labels(labels, 0.5, seed=0)
    assert np.bincount(corrupted).tolist() == np.bincount(labels).tolist()  # a permutation of the chosen ones
    changed = np.mean(corrupted != labels)
    assert 0.3 < changed <= 0.5  # some chosen labels land on their own class again
    assert np.array_equal(pretrain.shuffle_labels(labels, 0.0, seed=0), labels)
    assert np.array_equal(corrupted, pretrain.shuffle_labels(labels, 0.5, seed=0))
    assert not np.array_equal(corrupted, pretrain.shuffle_labels(labels, 0.5, seed=1))


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_shuffle_labels_refuses_impossible_fractions(fraction):
    with pytest.raises(TlkitError, match="between 0 and 1"):
        pretrain.shuffle_labels(np.arange(10), fraction, seed=0)


def test_rotated_copies_turn_each_image_by_its_label():
    images = np.arange(6 * 28 * 28 * 1, dtype=np.uint8).reshape(6, 28, 28, 1)
    rotated, turns = pretrain.rotated_copies(images, seed=3)
    assert rotated.shape == images.shape and rotated.dtype == images.dtype
    assert set(turns.tolist()) <= {0, 1, 2, 3}
    for image, turned, quarter_turns in zip(images, rotated, turns):
        assert np.array_equal(np.rot90(image, k=quarter_turns, axes=(0, 1)), turned)
    assert np.array_equal(images, np.arange(images.size, dtype=np.uint8).reshape(images.shape))  # input untouched


def test_joint_labels_give_every_class_and_rotation_its_own_label():
    labels = np.repeat(np.arange(5), 4)
    turns = np.tile(np.arange(4), 5)
    joint = pretrain.joint_labels(labels, turns)
    assert sorted(joint.tolist()) == list(range(20))
    assert np.array_equal(joint // 4, labels) and np.array_equal(joint % 4, turns)


def test_joint_labels_reject_mismatched_or_impossible_rotations():
    with pytest.raises(TlkitError, match="3 labels but 2 rotations"):
        pretrain.joint_labels(np.zeros(3, int), np.zeros(2, int))
    with pytest.raises(TlkitError, match="0-3 quarter turns"):
        pretrain.joint_labels(np.zeros(2, int), np.array([0, 4]))


def test_the_joint_head_shares_the_base_and_has_one_unit_per_pair():
    model = models.build_fashion_cnn()
    trainer = pretrain.with_auxiliary_head(model, models.SOURCE_CLASS_COUNT * pretrain.ROTATIONS, "class_and_rotation")
    assert trainer.outputs[1].shape[-1] == 20
    assert trainer.get_layer(models.FEATURE_LAYER) is model.get_layer(models.FEATURE_LAYER)


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Two seeded one-epoch runs on the course subset, standing in for the full data."""
    course = data.load_fashion_mnist("course")  # 4,000 source training images: seconds per epoch
    cards = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pretrain.data, "load_fashion_mnist", lambda subset="course", path=None: course)
        for run in ("first", "second"):
            out = tmp_path_factory.mktemp(run)
            cards.append((out, pretrain.pretrain(epochs=1, seed=0, out_dir=out, progress=False)))
    return cards


def test_a_pretraining_run_writes_the_model_and_a_complete_card(tiny_runs):
    out, card = tiny_runs[0]
    model_file = out / card["file"]
    assert model_file.is_file() and card["sha256"] == data.sha256_of_file(model_file)
    on_disk = json.loads(model_file.with_suffix(".json").read_text())
    assert on_disk == card
    for key in ("architecture", "layers", "parameters", "data", "training", "source_test_accuracy", "library_versions"):
        assert card[key], key
    assert card["training"]["epochs"] == 1 and card["training"]["seed"] == 0
    assert 0.2 < card["source_test_accuracy"] <= 1.0
    assert "Source test accuracy" in model_file.with_suffix(".md").read_text()
    loaded = models.load_base(weights=str(model_file), include_top=True)
    assert loaded.output.shape[-1] == models.SOURCE_CLASS_COUNT  # the joint head is not saved
    assert [layer.name for layer in loaded.layers][-1] == "predictions"


def test_the_same_seed_gives_the_same_weights(tiny_runs):
    (first_dir, first), (second_dir, second) = tiny_runs
    first_model = models.load_base(weights=str(first_dir / first["file"]), include_top=True)
    second_model = models.load_base(weights=str(second_dir / second["file"]), include_top=True)
    for a, b in zip(first_model.get_weights(), second_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert first["source_test_accuracy"] == second["source_test_accuracy"]


def test_the_command_line_reports_a_clear_error_without_the_full_data(tmp_path, capsys):
    status = pretrain.main(["--from", str(tmp_path), "--out", str(tmp_path / "out"), "--quiet"])
    assert status == 1
    assert "error:" in capsys.readouterr().err


def test_the_varied_recipe_is_seeded_and_says_so_in_its_card(tmp_path):
    course = data.load_fashion_mnist("course")
    cards = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pretrain.data, "load_fashion_mnist", lambda subset="course", path=None: course)
        for run in ("first", "second"):
            out = tmp_path / run
            cards.append((out, pretrain.pretrain(epochs=1, seed=0, out_dir=out, progress=False, recipe="varied")))
    (first_dir, first), (second_dir, second) = cards
    assert first["name"] == "fashion_source_varied" and first["file"] == "fashion_cnn_source_varied.keras"
    assert first["command"] == "python -m tlkit.pretrain --recipe varied --epochs 1"
    assert first["training"]["recipe"] == "varied"
    a = models.load_base(weights=str(first_dir / first["file"]), include_top=True)
    b = models.load_base(weights=str(second_dir / second["file"]), include_top=True)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)


def test_another_class_split_trains_on_its_own_source_classes(tmp_path):
    course = data.load_fashion_mnist("course")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pretrain.data, "load_fashion_mnist", lambda subset="course", path=None: course)
        card = pretrain.pretrain(epochs=1, seed=0, out_dir=tmp_path, progress=False, recipe="varied", split="related")
    assert card["name"] == "fashion_related_varied" and card["file"] == "fashion_cnn_related_varied.keras"
    assert card["command"] == "python -m tlkit.pretrain --recipe varied --split related --epochs 1"
    assert card["data"]["task"].startswith("source (related split): classes 0, 1, 2, 3, 5, 7, 8 (T-shirt/top")
    assert card["data"]["train_images"] == 7 * 800
    model = models.load_base(weights=str(tmp_path / card["file"]), include_top=True)
    assert model.output.shape[-1] == 7


def test_an_unknown_recipe_is_refused():
    with pytest.raises(TlkitError, match="unknown recipe"):
        pretrain.pretrain(recipe="magic")


def test_recipe_notes_come_from_the_lab_log_and_are_in_the_shipped_card():
    import json

    notes = pretrain.read_recipe_notes()
    assert len(notes) == 9 and all(note and not note.startswith("- ") for note in notes)
    card = json.loads(models.model_path().with_suffix(".json").read_text())
    assert card["recipe_notes"] == notes


@pytest.mark.parametrize("card, recipe, split, weights_name", [
    ("fashion_cnn_related_varied", "varied", "related", "fashion_related_varied"),
    ("fashion_cnn_distant_varied", "varied", "distant", "fashion_distant_varied"),
    ("fashion_cnn_related_varied_shuffled_100", "varied", "related", "fashion_related_varied_shuffled_100"),
])
def test_card_notes_of_the_split_bases_are_those_of_their_shipped_cards(card, recipe, split, weights_name):
    shipped = json.loads((paths.MODELS_DIR / f"{card}.json").read_text(encoding="utf-8"))
    assert pretrain.card_notes(recipe, split, weights_name) == shipped["recipe_notes"]


def test_read_recipe_notes_keeps_only_bullet_lines(tmp_path):
    log = tmp_path / "notes.md"
    log.write_text("# Title\n\nSome prose.\n\n- first note\n- second note, with - a dash\n")
    assert pretrain.read_recipe_notes(log) == ["first note", "second note, with - a dash"]
