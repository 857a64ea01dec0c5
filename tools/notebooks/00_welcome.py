# %% [markdown]
# # Welcome to tlkit: transfer learning with Keras
#
# **Goal of this course:** learn to reuse a network trained on one task to solve another task
# with very few labels. You will freeze layers, add new heads, fine-tune with small learning
# rates, choose which layers to transfer, and measure when transfer helps and when it hurts.
# Everything runs offline on a laptop CPU. Every number the course claims comes from code in the
# repository: most are measured in front of you when a notebook runs; the larger experiments
# (several seeds, every strategy tuned on validation data) take a quarter of an hour or more, so
# notebooks 01, 03 and 04 read what `benchmarks/` recorded, say which file it is, and re-run one
# seed of it live at the budget the benchmark chose.
#
# This first notebook introduces the data and the pre-trained base model that the whole
# course uses.
#
# **What you will see here**
#
# 1. The dataset, Fashion-MNIST, split into a *source task* and a *target task*.
# 2. A genuinely pre-trained base model, loaded the way `keras.applications` loads ImageNet models.
# 3. A per-layer report of which weights are trainable.

# %% [markdown]
# ## Setup
#
# `tlkit` is the course's helper package. It loads the data and the models from the repository,
# so nothing is downloaded.

# %%
import keras
import numpy as np

from tlkit import data, freezing, models, plots, quiz

print("Keras", keras.__version__)

# %% [markdown]
# ## The data: two related tasks
#
# Fashion-MNIST has 70,000 grey-level images (28x28 pixels) of ten kinds of clothing and
# accessories. The course ships a compact subset of it: 800 training and 400 test images per class.

# %%
dataset = data.load_fashion_mnist()
dataset

# %% [markdown]
# Transfer learning needs two tasks. We split the ten classes in two halves:
#
# * the **source task**, classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat), where
#   plenty of labels exist and on which the base model was pre-trained;
# * the **target task**, classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), which we want to
#   solve with only a handful of labels per class.

# %%
source = data.source_task(dataset)
target = data.target_task(dataset)
print("source classes:", source.class_names)
print("target classes:", target.class_names)

# %% [markdown]
# A picture says more than a list of names. Here are five examples of every class of each task.

# %%
plots.show_image_grid(source.train.images, source.train.labels, source.class_names, per_class=5)

# %%
plots.show_image_grid(target.train.images, target.train.labels, target.class_names, per_class=5)

# %% [markdown]
# The two tasks are related (both are pictures of things people wear or carry, photographed the
# same way) but not the same: no shoe or bag appears in the source task. That is the typical
# transfer learning situation.
#
# In the target task we pretend that labels are expensive. `data.few_shot` draws *k* labelled
# examples per class, always the same ones for the same seed:

# %%
five_per_class = data.few_shot(target.train, k=5, seed=0)
five_per_class

# %% [markdown]
# ## The pre-trained base model
#
# `models.load_base` mirrors `keras.applications`. `include_top=True` gives the whole source
# model, including its classifier for the five source classes:

# %%
source_model = models.load_base("fashion_cnn", include_top=True)
source_model.summary()

# %% [markdown]
# Its model card records how it was trained and how well it does on the source task's test set:

# %%
card = models.model_card()
print(f"trained for {card['training']['epochs']} epochs on {card['data']['train_images']} source images")
print(f"source test accuracy (card): {card['source_test_accuracy']:.3f}")

# %% [markdown]
# We can check that claim on the subset's source test images right here:

# %%
probabilities = source_model.predict(source.test.images, verbose=0)
accuracy = np.mean(np.argmax(probabilities, axis=1) == source.test.labels)
print(f"source test accuracy on the course subset: {accuracy:.3f}")

# %% [markdown]
# For transfer learning we want the base **without** its top: the layers that turn an image into
# a feature vector, but not the classifier that only knows the five source classes.
# `include_top=False` drops it:

# %%
base = models.load_base("fashion_cnn", include_top=False)
print("feature vector length:", base.output.shape[-1])

# %% [markdown]
# ## Which weights will train?
#
# Every Keras layer has a `trainable` flag. `freezing.trainable_report` lists, layer by layer,
# whether it is trainable and how many trainable and non-trainable parameters it holds.
# BatchNormalization layers always have some non-trainable parameters: their moving mean
# and variance are updated by statistics, not by gradients.

# %%
freezing.trainable_report(base)

# %% [markdown]
# Setting `base.trainable = False` *freezes* every layer: none of its weights will change during
# training. The report shows every parameter moved to the non-trainable column.

# %%
base.trainable = False
freezing.trainable_report(base)

# %% [markdown]
# ## What you learned
#
# * The course's source task (classes 0-4) and target task (classes 5-9) of Fashion-MNIST.
# * `models.load_base(..., include_top=False)` returns a pre-trained feature extractor, like
#   `keras.applications` does for ImageNet models.
# * `trainable` decides which weights training may change; freezing moves parameters from the
#   trainable to the non-trainable column.
#
# Next: **01 - Feature extraction**, where you put a new head on this frozen base.
#
# ## Quiz
#
# First, this notebook's questions: the vocabulary of the course. Pick an answer and press
# Submit; the explanation tells you why each option is right or wrong.

# %%
quiz.show_quiz("00_welcome")

# %% [markdown]
# And three questions from the course text:

# %%
quiz.show_quiz("course")
