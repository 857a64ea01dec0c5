# %% [markdown]
# # Fine-tuning: adjusting the pre-trained base, carefully
#
# **Author:** the tlkit course team<br>
# **Description:** the two-phase workflow (train a new head on the frozen base, then unfreeze
# the top of the base and continue with a much smaller learning rate), what too large a learning
# rate does to the pre-trained features, and a fair final comparison of training from scratch,
# partial freezing and fine-tuning.
#
# Feature extraction (notebook 01) keeps the base fixed. Fine-tuning goes one step further: once
# the new head has learned something sensible, it lets the top layers of the base adapt to the
# target task too. Done gently, this squeezes out extra accuracy; done carelessly, it erases what
# the base had learned.
#
# **Learning objectives.** After this notebook you can
#
# 1. run the two phases: head on a frozen base, then unfreeze the top `N` layers (keeping
#    BatchNormalization frozen), recompile with a 10-100 times smaller learning rate and continue
#    training with `initial_epoch`;
# 2. draw one learning curve over both phases;
# 3. measure *forgetting*, the drop of the base's accuracy on its source task, and relate it to
#    the learning rate;
# 4. decide between training from scratch, partial freezing and fine-tuning from a fair
#    measurement: every strategy tuned on validation data, paired differences over seeds.

# %% [markdown]
# ## Parameters
#
# The default run takes about a minute on a laptop CPU. `FULL = True` trains the fine-tuning phase
# longer, runs a wider learning-rate sweep, tests on all 400 test images per class and trains one
# seed of the fair comparison live instead of reading it from the benchmark (a few minutes).

# %% tags=["parameters"]
FULL = False

# %%
LABELS_PER_CLASS = 20
HEAD_EPOCHS = 10
FINE_TUNE_EPOCHS = 10 if FULL else 6
SWEEP_LEARNING_RATES = (1e-5, 1e-4, 1e-3, 1e-2) if FULL else (1e-4, 1e-3, 1e-2)
SWEEP_EPOCHS = 10 if FULL else 5
COMPARISON_LABELS = 5  # labelled images per class in the one-seed view of the fair comparison (the benchmark has 5 and 10)
TEST_IMAGES_PER_CLASS = 400 if FULL else 100

# %% [markdown]
# ## Setup

# %% tags=["e2e-setup"] tlkit={"role": "setup"}
import logging

import keras
import numpy as np

from tlkit import data, evaluation, evidence, experiments, freezing, models, plots, quiz, training
from tlkit.exercises import nb03_fine_tuning as ex

ex.bind(globals())
# Keep TensorFlow's internal notices (e.g. about re-tracing functions) out of the outputs.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

# %% [markdown]
# As before: a few labelled target images for training, validation images drawn from the rest of
# the target's training pool (everything we choose by, epochs and checkpoints, is chosen on
# them; `training.validation_data` refuses test images), a balanced slice of the target test
# split for the final numbers only, and a slice of the *source* test split to check whether the
# base still knows its original task.

# %%
dataset = data.load_fashion_mnist()
target = data.target_task(dataset)
source = data.source_task(dataset)
train_split = data.few_shot(target.train, k=LABELS_PER_CLASS, seed=0)
x_train, y_train = train_split.images, train_split.labels
validation_split = data.validation_split(target.train, per_class=50, seed=0, exclude=train_split)
x_val, y_val = training.validation_data(validation_split)
target_test = data.few_shot(target.test, k=TEST_IMAGES_PER_CLASS, seed=1)
source_test = data.few_shot(source.test, k=100, seed=0)
print(f"{len(x_train)} training, {len(x_val)} validation, {len(target_test)} target test, "
      f"{len(source_test)} source test images")

# %% [markdown]
# ## Phase 1: train the head on the frozen base
#
# Why not unfreeze everything right away? A new head starts with random weights, so its first
# gradients are large and essentially noise. If the base were trainable, that noise would flow
# back into the pre-trained layers and scramble them before the head had learned anything. So
# phase 1 is plain feature extraction.

# %%
training.set_seed(0)
base = models.load_base("fashion_cnn", include_top=False)
base.trainable = False

inputs = keras.Input(shape=(28, 28, 1), name="image")
x = base(inputs, training=False)
x = keras.layers.Dropout(0.2, name="head_dropout")(x)
outputs = keras.layers.Dense(5, activation="softmax", name="head")(x)
model = keras.Model(inputs, outputs, name="target_model")

phase1_learning_rate = 1e-2  # a fresh head on fixed features tolerates large steps
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=phase1_learning_rate),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    x_train, y_train, epochs=HEAD_EPOCHS, batch_size=16, validation_data=(x_val, y_val), verbose=0
)
print(f"after phase 1: validation accuracy {history.history['val_accuracy'][-1]:.3f}")

# %% [markdown]
# ## Phase 2: unfreeze the top of the base
#
# The top of the base is its most task-specific part, so that is where adapting helps most and
# risks least. We unfreeze the last `n_unfrozen` layers of the base: the last convolution block
# and the `features` Dense layer. Its BatchNormalization layer stays frozen, for the reason
# shown in notebook 02: trainable BatchNormalization would swap the source statistics for those
# of a few target batches.

# %%
n_unfrozen = 6
print("the top layers of the base:", [layer.name for layer in base.layers[-n_unfrozen:]])

# %% [markdown]
# ### Exercise 1: unfreeze the top `n_unfrozen` layers
#
# Make only the last `n_unfrozen` layers of `base` trainable, except BatchNormalization layers,
# which stay frozen. Everything below stays frozen. Remember that a frozen parent model freezes
# everything inside it.

# %% tlkit={"role": "solution", "question": "q1"}
# q1
### BEGIN SOLUTION
base.trainable = True
for layer in base.layers[:-n_unfrozen]:
    layer.trainable = False
for layer in base.layers[-n_unfrozen:]:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
### END SOLUTION

# %% tlkit={"role": "check", "question": "q1"}
ex.q1.check()
# ex.q1.hint()
# ex.q1.solution()

# %%
report = freezing.trainable_report(model, expand_nested=True)
print(f"trainable parameters: {report.trainable_params:,} of {report.total_params:,}")
report

# %% [markdown]
# ### Exercise 2: recompile with a small learning rate
#
# The flags changed, so compile `model` again. Give it a learning rate 10 to 100 times smaller
# than `phase1_learning_rate`: the pre-trained weights are already good, and large steps would
# push them away from what they learned.

# %% tlkit={"role": "solution", "question": "q2"}
# q2
### BEGIN SOLUTION
fine_tune_learning_rate = phase1_learning_rate / 100
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=fine_tune_learning_rate),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
### END SOLUTION

# %% tlkit={"role": "check", "question": "q2"}
ex.q2.check()
# ex.q2.hint()
# ex.q2.solution()

# %% [markdown]
# ### Exercise 3: continue where phase 1 stopped
#
# Train for `FINE_TUNE_EPOCHS` more epochs, validating on `(x_val, y_val)`, and keep the result
# in `history_fine`. Number the epochs on from phase 1 with `initial_epoch`; note that `epochs`
# is the number of the *last* epoch, not how many more to run.

# %% tlkit={"role": "solution", "question": "q3"}
# q3
### BEGIN SOLUTION
initial_epochs = len(history.epoch)
history_fine = model.fit(
    x_train,
    y_train,
    epochs=initial_epochs + FINE_TUNE_EPOCHS,
    initial_epoch=initial_epochs,
    batch_size=16,
    validation_data=(x_val, y_val),
    verbose=0,
)
### END SOLUTION

# %% tlkit={"role": "check", "question": "q3"}
ex.q3.check()
# ex.q3.hint()
# ex.q3.solution()

# %% [markdown]
# `training.merge_histories` joins the two histories, and the learning curves mark where
# fine-tuning began.

# %%
both_phases = training.merge_histories(history, history_fine)
print(f"validation accuracy at the end of phase 1: {both_phases['val_accuracy'][both_phases['fine_tune_start'] - 1]:.3f}")
print(f"validation accuracy at the end of phase 2: {both_phases['val_accuracy'][-1]:.3f}")
plots.plot_learning_curves(both_phases, title="Head training, then fine-tuning the top of the base")

# %% [markdown]
# ## How large a learning rate is too large?
#
# Fine-tuning changes the base, so it can make the base *forget* its source task. We can measure
# that directly. `models.feature_extractor(source_model)` returns a base that **shares** its
# layers with the complete source model, head included. A target model built on it trains those
# shared layers, so after fine-tuning we can still ask the source model how well it classifies
# T-shirts, trousers, pullovers, dresses and coats.
#
# For each learning rate we start from the same phase-1 state (a head trained on the frozen
# base), unfreeze the whole base except BatchNormalization with `freezing.unfreeze`, fine-tune,
# and record both the target accuracy and the source accuracy.
#
# Each rate is run the way a careful practitioner would run it: its training length is chosen on
# the validation images. `training.KeepBestOnValidation` watches the validation accuracy after
# every epoch and, when `fit` ends, puts back the weights of the best epoch. So every rate gets
# the same selection budget (up to `SWEEP_EPOCHS` epochs, the best one kept), and the test and
# source images are read only after that choice.

# %%
def target_model_on(shared_base):
    """The phase-1 architecture on a given base."""
    image = keras.Input(shape=(28, 28, 1), name="image")
    y = shared_base(image, training=False)
    y = keras.layers.Dropout(0.2, name="head_dropout")(y)
    return keras.Model(image, keras.layers.Dense(5, activation="softmax", name="head")(y))


def compile_with(target_model, learning_rate):
    target_model.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )


training.set_seed(0)
source_model = models.load_base("fashion_cnn", include_top=True)
shared_base = models.feature_extractor(source_model)
shared_base.trainable = False
sweep_model = target_model_on(shared_base)
compile_with(sweep_model, phase1_learning_rate)
sweep_model.fit(x_train, y_train, epochs=HEAD_EPOCHS, batch_size=16, verbose=0)
phase1_weights = sweep_model.get_weights()
source_accuracy_before = evaluation.accuracy(source_model, source_test)
target_accuracy_before = evaluation.accuracy(sweep_model, target_test)
print(f"after phase 1: target accuracy {target_accuracy_before:.3f}, source accuracy {source_accuracy_before:.3f}")

# %% tags=["nbval-ignore-output"]
sweep, chosen_epochs = {}, {}
for learning_rate in SWEEP_LEARNING_RATES:
    training.set_seed(0)
    source_model = models.load_base("fashion_cnn", include_top=True)
    shared_base = models.feature_extractor(source_model)
    sweep_model = target_model_on(shared_base)
    sweep_model.set_weights(phase1_weights)
    freezing.unfreeze(shared_base)  # everything trainable except BatchNormalization
    compile_with(sweep_model, learning_rate)
    keep_best = training.KeepBestOnValidation()
    sweep_model.fit(x_train, y_train, epochs=SWEEP_EPOCHS, batch_size=16, validation_data=(x_val, y_val),
                    callbacks=[keep_best], verbose=0)
    sweep[learning_rate] = (evaluation.accuracy(sweep_model, target_test), evaluation.accuracy(source_model, source_test))
    chosen_epochs[learning_rate] = keep_best.best_epoch

print("learning rate   epoch kept   target accuracy   source accuracy   forgetting")
for learning_rate, (target_accuracy, source_accuracy) in sweep.items():
    forgetting = source_accuracy_before - source_accuracy
    last = "*" if chosen_epochs[learning_rate] == SWEEP_EPOCHS else " "
    print(f"{learning_rate:>13g}   {chosen_epochs[learning_rate]:>9}{last}   {target_accuracy:15.3f}   {source_accuracy:15.3f}   {forgetting:10.3f}")
print(f"* kept the last of its {SWEEP_EPOCHS} epochs: it might have gone on improving")

# %% [markdown]
# A picture of the same table: accuracy on both tasks against the fine-tuning learning rate,
# with the phase-1 values as dotted lines.

# %%
rates = list(sweep)
figure = plots.new_figure(figsize=(7.5, 3.8), layout="constrained")
ax = figure.subplots()
ax.plot(rates, [sweep[rate][0] for rate in rates], marker="o", label="target task (test)")
ax.plot(rates, [sweep[rate][1] for rate in rates], marker="s", label="source task (forgetting)")
ax.axhline(target_accuracy_before, linestyle=":", color="C0", label="target, after phase 1")
ax.axhline(source_accuracy_before, linestyle=":", color="C1", label="source, before fine-tuning")
ax.set_xscale("log")
ax.set_xlabel(f"fine-tuning learning rate (phase 1 used {phase1_learning_rate:g})")
ax.set_ylabel("accuracy")
ax.set_title("Too large a learning rate erases the pre-trained features")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
figure

# %% [markdown]
# The first observation, as a claim with a margin, checked on this run:

# %%
smallest_rate, largest_rate = min(sweep), max(sweep)
evidence.claim(
    f"fine-tuning at {largest_rate:g} costs more than 20 points more source accuracy than fine-tuning at {smallest_rate:g}",
    sweep[smallest_rate][1] - sweep[largest_rate][1] > 0.20,
)

# %% [markdown]
# Two different things happen here, and it pays to keep them apart. The larger the fine-tuning
# rate, the further the base moves from the weights that made it good at the source task: its
# source accuracy drops. That is *forgetting*, and it is measured on the source task. The target
# accuracy tells another story: in this run it changes far less across the rates, because a
# hundred target images are easy to fit with many different features. A rate that kept its last
# epoch (marked `*`) may have been cut short, and the sweep has one seed, so its target column
# ranks nothing: a large rate is not shown here to hurt the target task, nor shown not to; what it
# destroys is what the base knew, which matters when you still need the source task, and when the
# target has so few labels that the pre-trained features are all that stands between you and
# overfitting. A rate 100 times below phase 1 adapts the base while keeping almost all of what it
# knew. The claim below checks this reading of the target curve:

# %%
target_accuracies = [target_accuracy for target_accuracy, _ in sweep.values()]
evidence.claim(
    "across the rates tried, the target accuracy varies by less than 15 points",
    max(target_accuracies) - min(target_accuracies) < 0.15,
)

# %% [markdown]
# ## Optional: unfreeze the whole base
#
# With more labels you may go further and unfreeze the entire base (still keeping
# BatchNormalization frozen), with an even smaller learning rate. `freezing.unfreeze` does it and
# returns the layers it made trainable; as always, compile again. Here we only show the
# mechanism: a few epochs at a learning rate of `1e-5` are a couple of dozen optimizer steps of
# tiny size, far too little to tell whether unfreezing the lower layers helps or hurts. Whether it
# pays is a measurement of its own, with its own budget chosen on validation data: the final
# comparison below does exactly that for `fine_tune`, which unfreezes the whole base.

# %%
unfrozen = freezing.unfreeze(base)
print(f"{len(unfrozen)} layers of the base are trainable now; BatchNormalization stays frozen:",
      all(not layer.trainable for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)))
compile_with(model, phase1_learning_rate / 1000)
start = len(history.epoch) + len(history_fine.epoch)
history_all = model.fit(
    x_train, y_train, epochs=start + 3, initial_epoch=start, batch_size=16, validation_data=(x_val, y_val), verbose=0
)
steps_run = 3 * -(-len(x_train) // 16)
print(f"{steps_run} optimizer steps at {phase1_learning_rate / 1000:g} with the whole base trainable: "
      f"validation accuracy {history_fine.history['val_accuracy'][-1]:.3f} -> {history_all.history['val_accuracy'][-1]:.3f}")

# %% [markdown]
# A change this small after so few, so tiny steps says nothing about the lower layers; it only
# shows that the run works. Do not read a conclusion into it.
#
# ## The final comparison
#
# Which strategy should you use? Measure it, fairly. Notebook 01 explained why a comparison that
# gives every strategy the same learning rate and number of epochs is not fair: a network
# trained from scratch needs far more optimizer steps than a pre-trained one, and each strategy
# has its own best learning rate. tlkit's benchmark `benchmarks/transfer_gain.py` lets every
# strategy choose its learning rate and training length on a validation split, with the same
# augmentation open to all, over several seeds, on the related class split (coat, shirt and ankle
# boot, from a base pre-trained on the seven other classes) and varied "customer photos" as
# test images. Its strategies:
#
# * **scratch**: the same architecture, randomly initialised, everything trained;
# * **partial**: the convolutions frozen, the base's `features` layer and the head trained;
# * **fine_tune**: the head trained on the frozen base for 200 steps, then the whole base
#   unfrozen (BatchNormalization kept frozen) at a 10 times smaller learning rate;
# * **random_partial**: partial's freezing on a *randomly initialised* base. It separates what
#   pre-training contributes from what any frozen convolutions give for free.
#
# Each strategy's gain over scratch, paired seed by seed, with its 95% confidence interval:

# %%
report = experiments.recorded.load_results()
for k, entry in report["results"].items():
    for strategy, gain in entry["per_strategy_gain_pts"].items():
        print(f"k={k:>2}  {strategy:<14} {gain['mean']:+5.1f} points over scratch (95% CI {gain['ci_low']:+.1f} to {gain['ci_high']:+.1f})")

# %% [markdown]
# The intervals are the evidence; one seed only shows what the numbers mean. Here is seed 0, with
# `COMPARISON_LABELS` labelled images per class, for scratch and fine-tuning (notebook 01 shows
# partial freezing the same way). By default the cell reads that seed as the benchmark recorded it.
# With `FULL = True` it trains both here, each once at the learning rate and length the benchmark
# validated for it, with early stopping on this run's own validation split (two networks of about
# 1,600 steps, a couple of minutes on a laptop).

# %%
SEED_STRATEGIES = ("scratch", "fine_tune")
related = data.target_task(dataset, split="related")
if FULL:
    seed_runs = experiments.recorded.run_at_validated_budget(related, report, k=COMPARISON_LABELS, seed=0, strategies=SEED_STRATEGIES)
else:
    seed_runs = experiments.recorded.recorded_seed(report, k=COMPARISON_LABELS, seed=0, strategies=SEED_STRATEGIES)
for strategy, run in seed_runs.items():
    choice = run["choice"]
    print(f"{strategy:<9} learning rate {choice['learning_rate']:g}, stopped after {choice['steps']} steps: "
          f"customer photos {run['test']['customer_photos']:.3f}")

# %% [markdown]
# What the evidence supports, checked on the benchmark's numbers:

# %%
for k, entry in report["results"].items():
    evidence.claim(
        f"with {k} labels per class, fine-tuning beats tuned scratch, the whole 95% interval above 0",
        entry["per_strategy_gain_pts"]["fine_tune"]["ci_low"] > 0,
    )
    evidence.claim(
        f"with {k} labels per class, pre-trained frozen convolutions beat random frozen ones, the whole 95% interval above 0",
        entry["pretraining_pts"]["ci_low"] > 0,
    )

# %% [markdown]
# Read the numbers, not a slogan. With a related source and varied test photos, both ways of
# adapting the pre-trained base beat a network trained from scratch that had every chance: its own
# learning rate, more steps than it chose to use, and the same augmentation. Whether fine-tuning
# the whole base beats keeping the convolutions frozen is a much closer call; the validation split
# decides it seed by seed. And the random-weights arm shows that the gain comes from what
# pre-training learned, not from the architecture. On the notebooks' own split, partial transfer
# and a tuned scratch network show no difference (see the README's second table): transfer pays
# when the source has something to teach that a few labels cannot. Whatever the outcome, the
# method is the lesson: every strategy tuned on validation data under the same budget, several
# seeds, paired differences with intervals, and a from-scratch baseline.
#
# ## What you learned
#
# * Fine-tuning is a second phase: first train the new head on the frozen base, then unfreeze
#   the top `N` layers (BatchNormalization stays frozen), **recompile** with a learning rate
#   10-100 times smaller, and continue with `initial_epoch` so the epochs number on.
# * `training.merge_histories` and `plots.plot_learning_curves` show both phases in one curve.
# * Too large a fine-tuning rate overwrites the pre-trained features; a model that shares the
#   base's layers with the source classifier makes that forgetting measurable.
# * Unfreezing the whole base is an option for larger target sets, with an even smaller rate.
# * Scratch, partial freezing and fine-tuning must be compared on the same labels, each tuned on
#   validation data under the same budget, over several seeds. With a related source and varied
#   photos both transfer strategies win; on an easy, centred target a tuned scratch network is a
#   hard baseline.
#
# ## Quiz

# %% tags=["e2e-quiz"]
# e2e: quiz
quiz.show_quiz("03_fine_tuning")
