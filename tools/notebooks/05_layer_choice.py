# %% [markdown]
# # Choosing which layers to freeze
#
# **Description:** early layers of a network compute generic features, late layers specific ones.
# Yosinski, Clune, Bengio and Lipson (2014) measured this by copying the first *n* layers of one
# network into another and freezing or fine-tuning them. This notebook repeats their experiment at
# small scale on Fashion-MNIST, puts our curves beside theirs, and turns the numbers into advice.
#
# **Learning objectives**
#
# 1. Read the paper's four kinds of network: BnB, BnB+, AnB and AnB+.
# 2. Copy and freeze exactly the first *n* weight layers of a trained network.
# 3. Tell from the measurements where features become too specific to transfer frozen, and what
#    fine-tuning changes.
# 4. Say honestly where a small experiment agrees with the paper and where it does not.

# %% [markdown]
# ## Setup
#
# The parameters cell sets the size of the run. The default trains 54 small networks on 80
# images per class, with three seeds, in under a minute and a half; `FULL = True` uses all of Fashion-MNIST
# (that is what `benchmarks/layer_transfer.py` runs).

# %% tags=["parameters"]
FULL = False

# %%
import keras
import numpy as np

from tlkit import data, evidence, layer_transfer, quiz

if FULL:
    dataset = data.load_fashion_mnist("full")
    SEEDS = (0, 1, 2, 3, 4)
    BUDGET = layer_transfer.LayerTransferBudget(
        train_per_class=None, test_per_class=None, base_epochs=3, transfer_epochs=3, batch_size=64, learning_rate=3e-3
    )
else:
    dataset = data.load_fashion_mnist("course")
    SEEDS = (0, 1, 2)
    BUDGET = layer_transfer.LayerTransferBudget(
        train_per_class=80, test_per_class=100, base_epochs=6, transfer_epochs=6, batch_size=32, learning_rate=3e-3
    )
print("Keras", keras.__version__)
print(BUDGET)

# %% [markdown]
# ## Two halves, two bases
#
# Task A is the five source classes (0-4), task B the five target classes (5-9). Both bases have
# the same small architecture. Its *weight layers* are the ones with parameters: two convolutions,
# two Dense layers and the classifier. As in the paper, the classifier is never copied, so *n*
# counts from 1 to L = 4.

# %%
network = layer_transfer.build_small_cnn()
network.summary()
print("weight layers:", [layer.name for layer in layer_transfer.weight_layers(network)])
print("L =", layer_transfer.transferable_layer_count(network))

# %% [markdown]
# ## Copying and freezing the first n layers, by hand
#
# Before running the whole experiment, build one AnB network yourself. Here is a baseA trained
# briefly on task A:

# %%
task_a = data.source_task(dataset)
small_a = data.few_shot(task_a.train, 100, seed=0)
keras.utils.set_random_seed(0)
base_a = layer_transfer.train(layer_transfer.build_small_cnn(), small_a, epochs=3, budget=BUDGET, seed=0)
n = 2

# %% [markdown]
# ## Exercise 1: copy the first n weight layers
#
# Make `anb`, a new network with `base_a`'s architecture (`keras.models.clone_model` gives fresh
# weights), whose first `n` weight layers carry `base_a`'s weights. Everything above stays newly
# initialised.

# %%
from tlkit.exercises import nb05_layer_choice as ex

ex.bind(globals())

# %%
# q1: copy the first n weight layers of base_a
### BEGIN SOLUTION
anb = keras.models.clone_model(base_a)
for source_layer, target_layer in zip(layer_transfer.weight_layers(base_a)[:n], layer_transfer.weight_layers(anb)[:n]):
    target_layer.set_weights(source_layer.get_weights())
### END SOLUTION

# %%
ex.q1.check()

# %% [markdown]
# ## Exercise 2: freeze exactly those layers
#
# AnB keeps the copied layers frozen. Freeze the first `n` *weight* layers of `anb` and nothing else.

# %%
# q2: freeze the first n weight layers
### BEGIN SOLUTION
for layer in layer_transfer.weight_layers(anb)[:n]:
    layer.trainable = False
### END SOLUTION

# %%
ex.q2.check()
print([(layer.name, layer.trainable) for layer in layer_transfer.weight_layers(anb)])

# %% [markdown]
# `layer_transfer.transfer_first_layers(base_a, n, fine_tune=False)` does the same in one call;
# the experiment below uses it.
#
# ## The experiment
#
# For every seed: train baseA and baseB, then for n = 1 to L, train BnB, BnB+, AnB and AnB+ on
# task B and measure them on task B's test images.

# %%
results = layer_transfer.run_layer_transfer(dataset, seeds=SEEDS, budget=BUDGET)
print(results.table())
print("baseA on task A:", [round(value, 3) for value in results.base_a_on_a])

# %% [markdown]
# ## Our curves beside the paper's
#
# Left: our means over seeds (bars: standard deviation). Right: the paper's ImageNet values.
# The scales differ (five easy classes against 500 hard ones), so compare the *shapes*: where
# each curve sits relative to its baseB line.

# %%
layer_transfer.plot_layer_transfer(results)

# %% [markdown]
# Relative to baseB, in accuracy points, the two experiments side by side (the paper has 7
# transferable layers, ours 4; their n = 7 and our n = 4 are both "everything but the classifier"):

# %%
base_b = results.base_b_mean
print("ours   AnB - baseB:", " ".join(f"{100 * (results.mean('AnB', d) - base_b):+5.1f}" for d in results.depths))
print("paper  AnB - baseB:", " ".join(f"{100 * (v - layer_transfer.PAPER['baseB']):+5.1f}" for v in layer_transfer.PAPER["AnB"].values()))
print("ours  AnB+ - baseB:", " ".join(f"{100 * (results.mean('AnB+', d) - base_b):+5.1f}" for d in results.depths))
print("ours   BnB - baseB:", " ".join(f"{100 * (results.mean('BnB', d) - base_b):+5.1f}" for d in results.depths))

# %% [markdown]
# ## Where we agree with the paper, and where we do not
#
# The paper makes three claims. `expected_shapes` tests each one on our numbers; the lines below
# print the evidence, so you can judge the claims yourself rather than trust a sentence.

# %% tags=["nbval-ignore-output"]
shapes = layer_transfer.expected_shapes(results)
anb = results.curve("AnB")
print(f"1. AnB falls as n grows (specificity): {shapes['anb_falls_with_depth']}  "
      f"(n=1 {anb[0]:.3f} -> n={results.depths[-1]} {anb[-1]:.3f})")
plus = results.curve("AnB+")
print(f"2. AnB+ at or above baseB at every n: {shapes['anb_plus_at_or_above_base_b']}  "
      f"(AnB+ from {plus.min():.3f} to {plus.max():.3f}, baseB {base_b:.3f})")
bnb = results.curve("BnB")
print(f"3. BnB dips in the middle (co-adaptation): {shapes['bnb_dips_in_the_middle']}  "
      f"(BnB by n: {' '.join(f'{value:.3f}' for value in bnb)})")

# %% [markdown]
# How to read these lines (the default run; a FULL run prints its own numbers):
#
# * **Specificity: reproduced, and stronger than in the paper.** Copying and freezing the two
#   convolutions costs almost nothing, but frozen Dense layers from task A lose many points:
#   they were trained to separate A's classes. The paper's drop is gentler because its
#   ImageNet halves are much more alike than clothes and shoes/bags.
# * **Fine-tuning: reproduced within the noise.** AnB+ recovers almost all of AnB's loss and stays
#   within a point or two of baseB at every n; line 2 says whether it is at or above baseB at
#   *every* n in this run. With 500 test images, one point is about the size of the noise, so a run
#   of this size cannot tell "at baseB" from "slightly above" or "slightly below".
# * **Co-adaptation: not reproduced.** BnB shows no dip at the middle depths (line 3). Where BnB
#   falls short of baseB, it is at the deepest n, where only a new classifier trains for a few
#   epochs on frozen features: too little training, not co-adaptation. Our network has only four
#   transferable layers, so there is little "middle" to cut; the paper's dip appeared at layers 4-5
#   of 7. A deeper network would be needed to test this claim.
#
# `expected_shapes` answers each question with no margin, so a difference of a tenth of a point
# can turn a `True` into a `False`. The conclusions above, restated with margins that noise cannot
# cross, and checked on this run:

# %%
bnb_dips = [
    bnb[i] < min(bnb[i - 1], bnb[i + 1]) - 0.02 for i in range(1, len(bnb) - 1)
]
evidence.claim(
    f"specificity: frozen AnB loses more than 10 points between n = 1 and n = {results.depths[-1]}",
    anb[0] - anb[-1] > 0.10,
)
evidence.claim(
    "fine-tuning: AnB+ stays within 3 points of baseB at every n",
    bool(np.all(np.abs(plus - base_b) < 0.03)),
)
evidence.claim(
    "co-adaptation not reproduced: no middle depth of BnB lies more than 2 points below both its neighbours",
    not any(bnb_dips),
)

# %% [markdown]
# ## Exercise 3: how deep can you freeze?
#
# Find `safe_depth`: the largest n such that frozen AnB stays within `tolerance` of baseB at
# *every* depth from 1 to n (0 if even n = 1 costs more than that).

# %%
tolerance = 0.01

# %%
# q3: the deepest safe frozen depth
### BEGIN SOLUTION
safe_depth = 0
for depth in results.depths:
    if results.mean("AnB", depth) < results.base_b_mean - tolerance:
        break
    safe_depth = depth
### END SOLUTION

# %%
ex.q3.check()
print("safe depth:", safe_depth)

# %% [markdown]
# ## Practical guidance from these measurements
#
# `freezing_advice` combines the frozen and fine-tuned curves:

# %% tags=["nbval-ignore-output"]
advice = layer_transfer.freezing_advice(results, tolerance)
print(f"deepest frozen depth within {tolerance} of baseB: n = {advice['deepest_safe_frozen_n']}")
print(f"best fine-tuned depth: n = {advice['best_fine_tuned_n']} "
      f"({100 * advice['best_fine_tuned_gain']:+.1f} points against baseB)")

# %% [markdown]
# Together with notebook 04 (where the amount of target data varied), the measurements suggest:
#
# * **Freeze only the generic early layers** (here the convolutions, n ≤ the safe depth above):
#   frozen, they cost nothing; frozen deeper layers cost many points on a different task.
# * **With very few labels per class** (about 5-20), that frozen generic part plus newly trained
#   upper layers is the safe choice; there is too little data to fine-tune everything.
# * **With about a hundred labels per class or more** (as here), copying layers and fine-tuning
#   them is about as good as training on the target alone, whatever n, and often a little better:
#   it is the cheap insurance.
# * **Never freeze the last, most source-specific layers** when the target classes differ: that is
#   where AnB collapses here and where notebook 04 found negative transfer.

# %% [markdown]
# ## What you learned
#
# * AnB/BnB/AnB+/BnB+ separate two effects: features that are too *specific* to the source task,
#   and the cost of *cutting* co-adapted layers.
# * Copying the first n weight layers means counting layers with weights, never the classifier,
#   and re-initialising everything above.
# * Frozen transfer gets worse with depth; fine-tuning removes nearly all of that cost.
# * A small experiment reproduces some of a paper's findings and not others; print the numbers
#   behind every claim.
#
# ## Quiz

# %%
quiz.show_quiz("05_layer_choice")
