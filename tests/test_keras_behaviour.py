"""Every statement the course makes about Keras behaviour, measured on the installed Keras.

The quizzes (quizzes/*.yaml) and the notebook prose (tools/notebooks/*.py) teach how
`trainable`, the `training` argument, BatchNormalization, `compile` and `fit` behave. Those
statements were true for the Keras the course was written with; a Keras upgrade may change
them. Each test below measures one statement on a tiny model and names where the course makes
it, so that a change of behaviour fails here, loudly, instead of leaving wrong teaching behind.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
# inputs far from zero mean and unit variance, so batch statistics differ clearly from the
# initial moving statistics (mean 0, variance 1)
X = (RNG.normal(size=(64, 4)) * 3.0 + 5.0).astype("float32")
Y = RNG.integers(0, 3, size=64)


def _seed():
    keras.utils.set_random_seed(0)


def _base_with_bn(name="base"):
    """A small nested base: Dense -> BatchNormalization -> ReLU."""
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(6, name="dense"), keras.layers.BatchNormalization(name="bn"),
         keras.layers.ReLU()],
        name=name,
    )


def _target(base, training_argument=False, dropout=0.0):
    """A functional target model that calls ``base(inputs, training=training_argument)``."""
    inputs = keras.Input((4,))
    features = base(inputs, training=training_argument)
    if dropout:
        features = keras.layers.Dropout(dropout)(features)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(features)
    return keras.Model(inputs, outputs)


def _compile(model, learning_rate=1e-2, optimizer=None):
    model.compile(optimizer=optimizer or keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")


def _moving_stats(layer):
    return np.array(layer.moving_mean.numpy()), np.array(layer.moving_variance.numpy())


def _stats_changed(layer, before):
    mean, variance = _moving_stats(layer)
    return not (np.array_equal(mean, before[0]) and np.array_equal(variance, before[1]))


def _weights(layer):
    return [np.array(w) for w in layer.get_weights()]


def _changed(layer, before):
    return any(not np.array_equal(old, new) for old, new in zip(before, layer.get_weights()))


def _fit(model, epochs=1, **kwargs):
    return model.fit(X, Y, epochs=epochs, batch_size=16, verbose=0, **kwargs)


# --- BatchNormalization, trainable and training ----------------------------------------------


def test_training_false_does_not_protect_a_trainable_batchnorm_during_fit():
    """quizzes/03 good-practice c, bn-mode-when-unfrozen; notebooks 01, 02; tlkit/experiments/.

    `fit` calls the model with training=True, which overrides the training=False recorded when
    the base was called in the functional graph: the trainable BatchNormalization runs in
    training mode and its moving statistics follow the target batches.
    """
    _seed()
    base = _base_with_bn()
    model = _target(base, training_argument=False)
    _compile(model)
    before = _moving_stats(base.get_layer("bn"))
    _fit(model)
    assert _stats_changed(base.get_layer("bn"), before)


def test_a_frozen_batchnorm_keeps_its_moving_statistics_during_fit():
    """quizzes/02 bn-mode a; quizzes/03 good-practice c, bn-mode-when-unfrozen; notebooks 02, 03.

    A BatchNormalization layer with trainable=False runs in inference mode even inside `fit`,
    with or without training=False, while the layers around it still train.
    """
    for training_argument in (False, None):
        _seed()
        base = _base_with_bn()
        base.get_layer("bn").trainable = False
        model = _target(base, training_argument=training_argument)
        _compile(model)
        stats_before = _moving_stats(base.get_layer("bn"))
        gamma_beta_before = _weights(base.get_layer("bn"))
        dense_before = _weights(base.get_layer("dense"))
        _fit(model)
        assert not _stats_changed(base.get_layer("bn"), stats_before)
        assert not _changed(base.get_layer("bn"), gamma_beta_before)
        # quizzes/03 forgot-unfreeze d: BatchNormalization in inference mode still passes gradients back
        assert _changed(base.get_layer("dense"), dense_before)


def test_a_frozen_batchnorm_normalises_with_its_moving_statistics_even_when_called_with_training_true():
    """quizzes/02 bn-mode a and c: a frozen BatchNormalization never uses the batch's own statistics."""
    bn = keras.layers.BatchNormalization()
    bn.build((None, 4))
    bn.trainable = False
    expected = np.asarray(bn(X, training=False))
    before = _moving_stats(bn)
    assert np.allclose(np.asarray(bn(X, training=True)), expected)
    assert not _stats_changed(bn, before)


def test_training_false_in_the_graph_applies_to_direct_calls():
    """notebook 01 (new head by hand) and notebook 02: training=False still matters for `model(x)`.

    Called directly without a `training` argument, the model passes training=False to the base,
    so even a trainable BatchNormalization uses (and keeps) its moving statistics; an explicit
    model(x, training=True) overrides it.
    """
    _seed()
    base = _base_with_bn()
    model = _target(base, training_argument=False)
    bn = base.get_layer("bn")
    before = _moving_stats(bn)
    direct = np.asarray(model(X))
    assert np.allclose(direct, np.asarray(model(X, training=False)))
    assert not _stats_changed(bn, before)
    model(X, training=True)
    assert _stats_changed(bn, before)


def test_a_trainable_batchnorm_moves_its_statistics_with_a_zero_learning_rate():
    """notebook 02: the moving statistics are not weights the optimizer updates; they move even with lr 0."""
    _seed()
    base = _base_with_bn()
    model = _target(base)
    _compile(model, optimizer=keras.optimizers.SGD(learning_rate=0.0))
    stats_before = _moving_stats(base.get_layer("bn"))
    dense_before = _weights(base.get_layer("dense"))
    _fit(model)
    assert _stats_changed(base.get_layer("bn"), stats_before)
    assert not _changed(base.get_layer("dense"), dense_before)


def test_a_frozen_base_is_a_fixed_function():
    """quizzes/01 (caching features): a frozen base in inference mode gives the same outputs every time."""
    _seed()
    base = _base_with_bn()
    base.trainable = False
    model = _target(base)
    _compile(model)
    first = base.predict(X, verbose=0)
    _fit(model)
    assert np.array_equal(first, base.predict(X, verbose=0))


# --- trainable --------------------------------------------------------------------------------


def test_freezing_a_model_is_recursive_and_moves_weights_to_non_trainable_weights():
    """quizzes/01 trainable-attribute, what-trains; quizzes/02 freezing-facts a and c, frozen-weights-list,
    recompile d; notebooks 00, 01, 02 (setting trainable on a model sets it on every layer inside)."""
    _seed()
    base = _base_with_bn()
    model = _target(base)
    weights_before = [np.array(w) for w in model.get_weights()]
    head_weights = len(model.get_layer("head").weights)
    base.trainable = False
    assert all(not layer.trainable for layer in base.layers)
    assert len(model.trainable_weights) == head_weights
    assert len(model.non_trainable_weights) == len(base.weights)
    # changing trainable never resets weights
    assert all(np.array_equal(old, new) for old, new in zip(weights_before, model.get_weights()))
    # frozen layers still compute (freezing-facts b): the base's output is not its input
    assert base(X).shape == (len(X), 6)


def test_only_the_head_trains_on_a_frozen_base():
    """quizzes/01 what-trains; notebook 01: `fit` leaves a frozen base bit for bit unchanged."""
    _seed()
    base = _base_with_bn()
    base.trainable = False
    model = _target(base)
    _compile(model)
    base_before, head_before = _weights(base), _weights(model.get_layer("head"))
    _fit(model)
    assert not _changed(base, base_before)
    assert _changed(model.get_layer("head"), head_before)


def test_dropout_follows_training_not_trainable():
    """quizzes/02 freezing-facts d, trainable-vs-training b; notebook 02 (Dropout with training=True/False)."""
    _seed()
    dropout = keras.layers.Dropout(0.5)
    dropout.trainable = False
    ones = np.ones((4, 32), dtype="float32")
    assert not np.array_equal(np.asarray(dropout(ones, training=True)), ones)
    assert np.array_equal(np.asarray(dropout(ones, training=False)), ones)


# --- the recompile pitfall ----------------------------------------------------------------------


def _two_layer_model():
    _seed()
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="a"),
                             keras.layers.Dense(3, activation="softmax", name="b")])


def _a_trains(model):
    before = _weights(model.get_layer("a"))
    _fit(model)
    return _changed(model.get_layer("a"), before)


def test_freezing_after_fit_is_ignored_until_compile():
    """quizzes/02 recompile a, b, c; quizzes/03 good-practice a; notebook 02 (the recompile table)."""
    model = _two_layer_model()
    _compile(model)
    _fit(model)
    model.get_layer("a").trainable = False
    assert _a_trains(model), "a layer frozen after fit, without compile, no longer trains"
    _compile(model)
    assert not _a_trains(model)


def test_unfreezing_after_fit_is_ignored_until_compile():
    """quizzes/03 forgot-unfreeze a, good-practice a; notebook 02 (the recompile table); notebook 03."""
    model = _two_layer_model()
    model.get_layer("a").trainable = False
    _compile(model)
    _fit(model)
    model.get_layer("a").trainable = True
    assert not _a_trains(model), "a layer unfrozen after fit, without compile, now trains"
    _compile(model)
    assert _a_trains(model)


def test_trainable_is_read_at_the_first_fit_not_at_compile():
    """notebook 02 (the training step is built at the first fit after compile)."""
    model = _two_layer_model()
    _compile(model)
    model.get_layer("a").trainable = False
    assert not _a_trains(model)
    model = _two_layer_model()
    model.get_layer("a").trainable = False
    _compile(model)
    model.get_layer("a").trainable = True
    assert _a_trains(model)


# --- fit, optimizers, losses -----------------------------------------------------------------------


def test_one_small_step_moves_trainable_weights():
    """quizzes/03 forgot-unfreeze b and c: even one step with a small learning rate moves trainable weights."""
    model = _two_layer_model()
    _compile(model, learning_rate=1e-5)
    before = _weights(model.get_layer("a"))
    model.fit(X[:16], Y[:16], epochs=1, batch_size=16, verbose=0)
    assert _changed(model.get_layer("a"), before)


def test_initial_epoch_makes_epochs_the_index_of_the_last_epoch():
    """quizzes/03 initial-epoch; notebook 03: fit(initial_epoch=10, epochs=15) runs 5 epochs, numbered 11 to 15."""
    model = _two_layer_model()
    _compile(model)
    history = model.fit(X[:16], Y[:16], initial_epoch=10, epochs=15, batch_size=16, verbose=0)
    assert history.epoch == [10, 11, 12, 13, 14]  # shown to people as epochs 11 to 15


def test_training_metrics_are_measured_with_dropout_validation_metrics_without():
    """quizzes/01 val-above-train a: training metrics are computed with Dropout on, validation metrics with it off."""
    _seed()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.9), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    history = model.fit(X, Y, epochs=1, batch_size=64, validation_data=(X, Y), verbose=0)
    evaluated = model.evaluate(X, Y, verbose=0)
    assert np.isclose(history.history["val_loss"][0], evaluated, rtol=1e-5)
    assert not np.isclose(history.history["loss"][0], evaluated, rtol=1e-3)


def test_softmax_with_a_plain_loss_equals_logits_with_from_logits():
    """quizzes/01 logits-loss a: softmax + from_logits=False and no activation + from_logits=True agree."""
    logits = RNG.normal(size=(8, 5)).astype("float32")
    labels = RNG.integers(0, 5, size=8)
    plain = keras.losses.SparseCategoricalCrossentropy()(labels, keras.activations.softmax(logits))
    from_logits = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    assert np.isclose(float(plain), float(from_logits), rtol=1e-5)


def test_logits_with_a_plain_loss_go_silently_wrong():
    """quizzes/01 logits-loss b: raw scores with the default from_logits=False give a wrong loss, without a warning."""
    import warnings

    logits = RNG.normal(size=(8, 5)).astype("float32") * 3.0
    labels = RNG.integers(0, 5, size=8)
    right = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wrong = keras.losses.SparseCategoricalCrossentropy()(labels, logits)
    assert not np.isclose(float(right), float(wrong), rtol=1e-2)


def test_a_softmax_output_with_from_logits_true_is_rescued_with_a_warning():
    """quizzes/01 logits-loss d: Keras 3 (TensorFlow) warns and uses the scores before a softmax output.

    The quiz explains that this happens to train but is not what the code says; if Keras stops
    rescuing it (the loss changes, or the warning disappears), rewrite that explanation.
    """
    _seed()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.warns(UserWarning, match="Was this intended"):
        rescued = model.evaluate(X, Y, verbose=0)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy())
    assert np.isclose(rescued, model.evaluate(X, Y, verbose=0), rtol=1e-5)


def test_a_model_cut_at_an_inner_layer_shares_its_weights():
    """quizzes/01 intermediate-features a, b, c: keras.Model(base.input, base.get_layer(name).output)."""
    _seed()
    base = _base_with_bn()
    cut = keras.Model(base.inputs[0], base.get_layer("dense").output)
    assert cut.get_layer("dense") is base.get_layer("dense")
    kernel = base.get_layer("dense").kernel
    assert np.allclose(np.asarray(cut(X)), X @ np.asarray(kernel) + np.asarray(base.get_layer("dense").bias), atol=1e-4)
    with pytest.raises(TypeError):
        base.layers["dense"]
    with pytest.raises(TypeError):
        base.predict(X, layer="dense")


def test_batchnorm_holds_non_trainable_moving_statistics():
    """notebooks 00 and 01: a trainable BatchNormalization layer still holds two non-trainable weights."""
    bn = keras.layers.BatchNormalization()
    bn.build((None, 4))
    assert bn.trainable
    assert {weight.name for weight in bn.non_trainable_weights} == {"moving_mean", "moving_variance"}
    assert {weight.name for weight in bn.trainable_weights} == {"gamma", "beta"}


def test_a_new_head_on_the_frozen_shipped_base_has_645_trainable_parameters():
    """quizzes/02 head-parameters; notebook 01: 128 features x 5 classes + 5 biases train, nothing else."""
    from tlkit import heads, models

    base = models.load_base("fashion_cnn", include_top=False)
    base.trainable = False
    model = heads.add_head(base, 5)
    assert sum(int(np.prod(weight.shape)) for weight in model.trainable_weights) == 645
