# %% [markdown]
# # Negative transfer: when the source makes things worse
#
# **Description:** transfer learning is not free. A source model can make the target model
# *worse* than one trained from scratch. This notebook measures that effect, finds two causes
# of it, and tries two remedies, with numbers and confidence intervals rather than intuitions.
#
# **Learning objectives**
#
# 1. Compute the *negative transfer gap* (NTG) of Wang, Dai, Póczos and Carbonell (2019), with a
#    confidence interval over seeds.
# 2. See two causes of negative transfer: a corrupted (less related) source, and frozen layers
#    that are too specific to the source task.
# 3. Check the two factors the paper names: the gap grows with the source's divergence and with
#    the amount of labelled target data.
# 4. Detect negative transfer with a scratch baseline on validation data, and reduce it by
#    fine-tuning or by transferring fewer layers.

# %% [markdown]
# ## Setup
#
# Everything runs offline on the course data. The parameters cell sets the size of the run.
# The default is deliberately small so that it finishes in a minute or two on a laptop CPU:
# two sources (ε = 0 and 1.0), two values of k, two seeds and 100 test images per class. With so
# few seeds the intervals are wide; read the numbers as a first look. `FULL = True` uses the full
# Fashion-MNIST files, all three sources, more labels per class and more seeds (that is the grid
# `benchmarks/negative_transfer.py` runs; it takes much longer).

# %% tags=["parameters"]
FULL = False

# %%
import keras
import numpy as np

from tlkit import data, evidence, experiments, fair_benchmark, freezing, models, negative_transfer, quiz

if FULL:
    dataset = data.load_fashion_mnist("full")
    CORRUPTIONS, LABELS_PER_CLASS, SEEDS = (0.0, 0.5, 1.0), (5, 20, 50, 200), (0, 1, 2, 3, 4)
    TEST_PER_CLASS, VALIDATION_PER_CLASS = None, 50
    BUDGET = experiments.TrainingBudget(epochs=30, batch_size=32, learning_rate=3e-3)
else:
    dataset = data.load_fashion_mnist("course")
    CORRUPTIONS, LABELS_PER_CLASS, SEEDS = (0.0, 1.0), (5, 50), (0, 1)
    TEST_PER_CLASS, VALIDATION_PER_CLASS = 100, 30
    BUDGET = experiments.TrainingBudget(epochs=20, batch_size=32, learning_rate=3e-3)
SOURCES = {epsilon: negative_transfer.CORRUPTED_SOURCES[epsilon] for epsilon in CORRUPTIONS}

target = data.target_task(dataset)
print("Keras", keras.__version__)
print(f"target task: {target}")

# %% [markdown]
# ## The negative transfer gap
#
# Call `A` the way we train a target model: same architecture, same epochs, same optimiser.
# Train it once *with* the source (starting from a pre-trained base) and once *without* it
# (from random weights), on the same target examples, and compare the errors on the target test set:
#
# $$\text{NTG} = \text{error}\big(A(\text{source}, \text{target})\big) - \text{error}\big(A(\varnothing, \text{target})\big)$$
#
# The sign convention surprises many people: **a positive gap is negative transfer**, because
# the source *raised* the error. A negative gap means the source helped.

# %%
print(f"{negative_transfer.negative_transfer_gap(0.18, 0.15):+.3f}")

# %% [markdown]
# One run is not enough to trust a difference of a few points: the labelled examples drawn and
# the random initialisation change the result. `gap_with_interval` pairs the runs seed by seed
# (the same target examples with and without the source) and gives a 95 % t-interval for the
# mean gap. Only when the whole interval is above zero, and clears it by a margin of one point
# (0.01), do we call it negative transfer; when an end of the interval lies within that margin of
# zero, the last digits of the measurement could tip the verdict either way, so it reads "too close
# to call". With fewer than three seeds there is no verdict at all: a t-interval from two seeds
# multiplies the standard error by 12.7 and estimates the spread from just two numbers, so it reads
# "evidence too thin". Three seeds are the least that earns a verdict; five are better.

# %%
print(negative_transfer.gap_with_interval([0.22, 0.25, 0.24], [0.15, 0.16, 0.17]))

# %% [markdown]
# ## Three sources of different quality
#
# To make a source *less related* to the target, Wang et al. corrupt a fraction ε of it.
# tlkit ships three bases of the same architecture, pre-trained on the source classes (0-4)
# with a fraction ε of their labels shuffled: ε = 0 (the clean base of the earlier notebooks),
# 0.5 and 1.0 (labels carry no information at all: whatever the base learnt is not about clothes
# classes).

# %%
for epsilon, weights in negative_transfer.CORRUPTED_SOURCES.items():
    card = models.model_card(weights)
    print(f"ε = {epsilon:.1f}: {weights:<28} source test accuracy {card['source_test_accuracy']:.3f}")

# %% [markdown]
# ## Measuring the gap over a grid
#
# For every ε in `SOURCES` and every number k of labels per target class, and for every seed, we train:
#
# * **scratch**: the same architecture from random weights (the "without source" term);
# * **frozen**: the whole base frozen, only a new head trained (feature extraction);
# * **partial**: the convolutions frozen, the base's Dense `features` layer trained with the head.
#
# The validation images are set aside from the training split; they are for *decisions*. The test
# images are for the final numbers. This cell trains all the models (a progress bar shows in an
# interactive session).

# %%
grid = negative_transfer.run_gap_grid(
    target,
    SOURCES,
    labels_per_class=LABELS_PER_CLASS,
    seeds=SEEDS,
    strategies=("frozen", "partial"),
    budget=BUDGET,
    validation_per_class=VALIDATION_PER_CLASS,
    test_per_class=TEST_PER_CLASS,
)
print(f"{len(grid.corruptions)} sources x {len(grid.labels_per_class)} values of k x {len(grid.seeds)} seeds")

# %% [markdown]
# ## The two factors, as a heatmap
#
# Each cell shows the mean gap over seeds and the half-width of its 95 % interval. Red cells are
# negative transfer, blue cells positive transfer.

# %%
negative_transfer.plot_gap_heatmap(grid)

# %% [markdown]
# The same numbers, printed, with their intervals. Read the rows (ε grows downwards in the list)
# and the columns (more labels per class). The default run has only two seeds, so every line says
# "evidence too thin": the means are a first look, not a finding. `FULL = True` runs five seeds and
# prints verdicts.

# %% tags=["nbval-ignore-output"]
for strategy in grid.strategies:
    for epsilon in grid.corruptions:
        for k in grid.labels_per_class:
            print(f"{strategy:>7}  ε={epsilon:.1f}  k={k:<3}  {grid.gap(strategy, epsilon, k)}")

# %% [markdown]
# Two observations about this run are large enough to state as claims, with margins that the
# rounding of another computer cannot flip. They describe these two seeds; whether they hold in
# general is what the five seeds of `FULL = True` and `benchmarks/negative_transfer.py` test.

# %%
worst_k = max(grid.labels_per_class)
evidence.claim(
    f"with all source labels shuffled and k = {worst_k}, freezing the whole base raised the target error "
    "by more than 5 points on every seed",
    min(grid.gap("frozen", 1.0, worst_k).differences) > 0.05,
)
evidence.claim(
    "at that setting, training the `features` layer (partial) shrinks the mean gap by more than 10 points",
    grid.gap("frozen", 1.0, worst_k).mean - grid.gap("partial", 1.0, worst_k).mean > 0.10,
)

# %% [markdown]
# Did the shapes Wang et al. describe appear here? `expected_shapes` checks them on the mean gaps of
# the frozen strategy: is the gap positive for the fully corrupted source at k = 50, does it rise
# with ε (over the ε values this run used) at k = 50, and is it larger at the largest k than at the
# smallest for ε = 1.0? Each answer is about *this* run's means; with two seeds, a `True` or a
# `False` can flip with another seed, so look at the intervals above too.

# %%
K_CHECK = 50
shapes = negative_transfer.expected_shapes(grid, strategy="frozen", k=K_CHECK)
for name, holds in shapes.items():
    print(f"{name}: {holds}")

# %% [markdown]
# ## Exercise 1: compute one gap yourself
#
# Here are the mean test errors of the frozen base with ε = 1.0 and of scratch, at k = 50.
# Compute `ntg` and set `is_negative_transfer` to `True` or `False`.

# %%
from tlkit.exercises import nb04_negative_transfer as ex

ex.bind(globals())

frozen_accuracies = grid.accuracies("frozen", 1.0, K_CHECK)
scratch_accuracies = grid.accuracies("scratch", 1.0, K_CHECK)
frozen_error = 1 - float(np.mean(frozen_accuracies))
scratch_error = 1 - float(np.mean(scratch_accuracies))
print(f"frozen error {frozen_error:.3f}, scratch error {scratch_error:.3f}")

# %%
# q1: the gap and its verdict
### BEGIN SOLUTION
ntg = frozen_error - scratch_error
is_negative_transfer = ntg > 0
### END SOLUTION

# %%
ex.q1.check()

# %% [markdown]
# ## Exercise 2: the gap over seeds, with its interval
#
# A single mean hides how much the seeds disagree. Use `negative_transfer.gap_with_interval` on the
# per-seed *errors* (first with the source, then without) to get `gap_estimate`.

# %%
# q2: paired gap over seeds
### BEGIN SOLUTION
gap_estimate = negative_transfer.gap_with_interval(1 - np.array(frozen_accuracies), 1 - np.array(scratch_accuracies))
### END SOLUTION

# %%
ex.q2.check()
print(gap_estimate)

# %% [markdown]
# ## Explore the grid
#
# Move the sliders to see every strategy's test accuracy (bars: mean; dots: seeds) and its gap at
# one setting. The widget only redraws results computed above; it trains nothing.

# %% tags=["nbval-ignore-output"]
negative_transfer.explore(grid)

# %% [markdown]
# ## Detecting negative transfer: always keep a scratch baseline
#
# In a real project you do not know the test accuracy before deciding; you decide on validation
# data. Here are the validation and test accuracies at the most damaging setting (ε = 1.0, k = 50).

# %%
validation_accuracy = {
    name: round(float(np.mean(grid.accuracies(name, 1.0, K_CHECK, split="validation"))), 4)
    for name in ["scratch", *grid.strategies]
}
test_accuracy = {name: round(float(np.mean(grid.accuracies(name, 1.0, K_CHECK))), 4) for name in validation_accuracy}
print("validation:", validation_accuracy)
print("test:      ", test_accuracy)

# %% [markdown]
# ## Exercise 3: choose a strategy
#
# Choose the strategy to deploy, `chosen_strategy`, using only what you may use for decisions.
# Scratch is a candidate too.

# %%
# q3: choose on validation data
### BEGIN SOLUTION
chosen_strategy = max(validation_accuracy, key=validation_accuracy.get)
### END SOLUTION

# %%
ex.q3.check()

# %% [markdown]
# Did validation data flag the negative transfer that the test set confirms? For every setting we
# compare the best strategy on validation with the best on test:

# %% tags=["nbval-ignore-output"]
agreements = 0
for epsilon in grid.corruptions:
    for k in grid.labels_per_class:
        chosen = grid.best_by_validation(epsilon, k)
        test_means = {name: np.mean(grid.accuracies(name, epsilon, k)) for name in ["scratch", *grid.strategies]}
        best = max(test_means, key=test_means.get)
        agreements += chosen == best
        print(f"ε={epsilon:.1f} k={k:<3} chosen on validation: {chosen:<8} best on test: {best}")
print(f"validation picked the test winner in {agreements} of {len(grid.corruptions) * len(grid.labels_per_class)} settings")

# %% [markdown]
# ## Mitigation 1: transfer fewer layers
#
# The `features` Dense layer was trained to separate the *source* classes; with ε = 1.0 it learnt
# nothing useful at all. Keeping it trainable ("partial") lets it adapt. Compare the two
# strategies' gaps at every ε for k = 50:

# %%
for epsilon in grid.corruptions:
    frozen_gap, partial_gap = grid.gap("frozen", epsilon, K_CHECK), grid.gap("partial", epsilon, K_CHECK)
    print(f"ε={epsilon:.1f}  frozen NTG {frozen_gap.mean:+.3f}   partial NTG {partial_gap.mean:+.3f}")

# %% [markdown]
# Why do the convolutions of a base whose labels were *all* shuffled still help? Because shuffling
# the labels did not remove everything the base learnt. `python -m tlkit.pretrain` also turns every
# training image by a random multiple of 90 degrees and asks a second head to predict the pair
# (class, rotation). Shuffling corrupts the class half of that pair, never the rotation half: to tell
# a turned coat from an upright one, the convolutions still had to learn edges, outlines and which way
# up a garment is. Those features are not about the five source classes, so they survive the
# corruption. What the ε = 1.0 base really lost is concentrated in its `features` layer, whose job was
# to separate the (now meaningless) classes. That is why freezing `features` can hurt while training it
# costs little: the damage of a poor source sits in its most *specific* layers, which is the next
# notebook's topic.

# %% [markdown]
# ## Exercise 4: freeze the convolutions only
#
# Load the corrupted base and make only its last layer, the Dense `features` layer, trainable.
# BatchNormalization layers stay frozen.

# %%
base = models.load_base(weights=negative_transfer.CORRUPTED_SOURCES[1.0])

# %%
# q4: freeze everything except 'features'
### BEGIN SOLUTION
base.trainable = True
for layer in base.layers:
    layer.trainable = layer.name == "features"
### END SOLUTION

# %%
ex.q4.check()
freezing.trainable_report(base)

# %% [markdown]
# ## Mitigation 2: fine-tune instead of freezing
#
# Fine-tuning trains the head on the frozen base first, then unfreezes the base and continues with
# a 10 times smaller learning rate. It is slower, so we measure it only at ε = 1.0 and k = 50,
# reusing the scratch models trained above (same seeds, same examples).

# %% tags=["nbval-ignore-output"]
fine_tuned = negative_transfer.run_gap_grid(
    target,
    {1.0: negative_transfer.CORRUPTED_SOURCES[1.0]},
    labels_per_class=[K_CHECK],
    seeds=SEEDS,
    strategies=("fine_tune",),
    budget=BUDGET,
    validation_per_class=VALIDATION_PER_CLASS,
    test_per_class=TEST_PER_CLASS,
    baseline=grid,
)
for name, result in (("frozen", grid), ("partial", grid), ("fine_tune", fine_tuned)):
    print(f"ε=1.0 k={K_CHECK}  {name:>9}: {result.gap(name, 1.0, K_CHECK)}")

# %% [markdown]
# Both mitigations, as claims with margins:

# %%
for name, result in (("partial", grid), ("fine_tune", fine_tuned)):
    evidence.claim(
        f"at ε = 1.0 and k = {K_CHECK}, {name} cuts the frozen base's gap by more than 10 points",
        grid.gap("frozen", 1.0, K_CHECK).mean - result.gap(name, 1.0, K_CHECK).mean > 0.10,
    )

# %% [markdown]
# ## Relatedness, measured with every arm tuned
#
# The grid above gives every arm one shared budget (`BUDGET`: the same epochs and learning rate).
# That keeps this notebook quick, but it is not a fair race: with 5 labels per class an epoch is a
# single optimizer step, so scratch stops long before it has learnt what it could, and a gap at
# small k partly measures that. tlkit's fair benchmark (`benchmarks/transfer_gain.py`, notebook 01)
# lets every arm choose its learning rate and training length on validation data, and measures
# relatedness on the related class split (target: coat, shirt, ankle boot; customer photos as test
# images). It compares partial transfer from three bases of the same recipe, each paired seed by
# seed with the same tuned scratch: the **related** base (its seven source classes include each
# target class's close relatives), a **distant** one (pre-trained on trouser, dress and bag only),
# and the related one pre-trained on **shuffled** labels (ε = 1.0). Every base gets the same arm,
# partial transfer, so none has more chances than another. (The distant source is also smaller,
# 18,000 images of 3 classes against 42,000 of 7, so this comparison does not separate relatedness
# from size.)

# %%
report = fair_benchmark.load_results()
for k, entry in report["results"].items():
    related_gain = entry["per_strategy_gain_pts"]["partial"]
    print(f"k = {k}: gain of partial transfer over tuned scratch, points (95% CI), {len(entry['seeds'])} seeds")
    print(f"  {report['base']['weights']:<38} {related_gain['mean']:+5.1f} ({related_gain['ci_low']:+.1f} to {related_gain['ci_high']:+.1f})")
    for weights, per_k in report["relatedness"].items():
        other = per_k[k]
        print(f"  {weights:<38} {other['gain_pts']:+5.1f} ({other['ci_low']:+.1f} to {other['ci_high']:+.1f})")

# %% [markdown]
# In the notation of this notebook, the gain is minus the negative transfer gap (in points). The
# claims these numbers support:

# %%
for k, entry in report["results"].items():
    distant = report["relatedness"]["fashion_distant_varied"][k]["minus_main_base_pts"]
    shuffled = report["relatedness"]["fashion_related_varied_shuffled_100"][k]
    evidence.claim(
        f"with {k} labels per class, the distant source gains less than the related one, the whole 95% interval of the paired difference below 0",
        distant["ci_high"] < 0,
    )
    evidence.claim(
        f"with {k} labels per class, the shuffled-label source is negative transfer: its whole 95% interval below 0",
        shuffled["ci_high"] < 0,
    )

# %% [markdown]
# ## What you learned
#
# * The negative transfer gap is *error with the source minus error without it*, for the same
#   training algorithm; positive means the source hurt. Measure it over several seeds, paired, with
#   an interval.
# * A corrupted, unrelated source and frozen source-specific layers both cause negative transfer.
#   The printed checks above say which of Wang et al.'s trends appeared in this run.
# * You cannot see negative transfer without a scratch baseline, and you should see it on
#   validation data, not on the test set.
# * Transferring fewer layers and fine-tuning are the two remedies; the numbers above show how much
#   each recovered here.
# * Measured with every arm tuned on validation data, relatedness decides: a related source gains
#   several points over scratch, a distant one less, and a source with shuffled labels loses.
#
# Next: **05 - Choosing which layers to freeze**.
#
# ## Quiz

# %%
quiz.show_quiz("04_negative_transfer")
