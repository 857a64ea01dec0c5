"""Photos that vary: random shifts, rotations, zoom, flips and lighting, reproducibly.

The course's target images are centred, upright and evenly lit, like every
Fashion-MNIST image.  Customers' photos are not: the item sits off-centre, a
little turned, nearer or farther, mirrored, in brighter or dimmer light.
:func:`vary` draws such changes at random for every image (seeded, so the
same seed always gives the same pictures) and is used three ways:

* to **pre-train** a base that has already seen 30,000 varied source images
  (``python -m tlkit.pretrain --recipe varied``): its features learn not to
  care where an item is, how it is turned or lit;
* as **data augmentation** while training on the few target labels, offered
  to every strategy alike, scratch included (a fresh variation every epoch);
* to build the **"customer photos"** test condition: one fixed, seeded varied
  copy of the target test split (:func:`customer_photos`).

A few target labels cannot teach a network all that variation, even with
augmentation; 30,000 varied source images can.  That is what makes the
pre-trained base pay in the fair protocol of :mod:`tlkit.experiments`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tlkit.errors import TlkitError

__all__ = ["Variation", "CUSTOMER_PHOTOS", "vary", "customer_photos", "CUSTOMER_PHOTOS_SEED"]


@dataclasses.dataclass(frozen=True)
class Variation:
    """How much a photo may differ from a centred, upright, evenly lit image.

    Attributes
    ----------
    shift : float
        Largest shift, as a fraction of the image size, in each direction.
    rotation_degrees : float
        Largest rotation either way.
    zoom : tuple of float
        Range of the scale factor (below 1: smaller, farther away).
    flip : float
        Probability of a left-right mirror image.
    brightness : tuple of float
        Range of the factor every pixel is multiplied by (clipped to 0-255).
    """

    shift: float = 0.2
    rotation_degrees: float = 35.0
    zoom: tuple = (0.75, 1.2)
    flip: float = 0.5
    brightness: tuple = (0.6, 1.3)

    def __post_init__(self):
        if not 0.0 <= self.shift < 0.5:
            raise TlkitError(f"Variation: shift must be a fraction in [0, 0.5), got {self.shift}")
        if not 0.0 <= self.flip <= 1.0:
            raise TlkitError(f"Variation: flip must be a probability, got {self.flip}")
        for name in ("zoom", "brightness"):
            low, high = getattr(self, name)
            if not 0.0 < low <= high:
                raise TlkitError(f"Variation: {name} must be a range (low, high) with 0 < low <= high")


#: The course's "customer photos": the variation the varied base is pre-trained with.
CUSTOMER_PHOTOS = Variation()
#: Seed of the fixed customer-photo copy of a test split.
CUSTOMER_PHOTOS_SEED = 20261201


def vary(images: np.ndarray, variation: Variation = CUSTOMER_PHOTOS, seed: int = 0) -> np.ndarray:
    """Return a randomly varied copy of ``images`` (``(n, 28, 28, 1)`` uint8).

    Every image gets its own shift, rotation, zoom, mirror and brightness,
    drawn from ``variation`` with ``numpy.random.default_rng(seed)``; the
    uncovered border is black, like the background.  Bilinear interpolation.
    """
    from scipy import ndimage

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 1:
        raise TlkitError(f"vary: images must have shape (n, height, width, 1), got {images.shape}")
    n, height, width, _ = images.shape
    if n == 0:
        return images.copy()
    rng = np.random.default_rng(seed)
    angle = np.deg2rad(rng.uniform(-variation.rotation_degrees, variation.rotation_degrees, n))
    scale = rng.uniform(variation.zoom[0], variation.zoom[1], n)
    shift_rows = rng.uniform(-variation.shift, variation.shift, n) * height
    shift_cols = rng.uniform(-variation.shift, variation.shift, n) * width
    mirror = rng.random(n) < variation.flip
    light = rng.uniform(variation.brightness[0], variation.brightness[1], n)

    centre_r, centre_c = (height - 1) / 2.0, (width - 1) / 2.0
    rows, cols = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")
    # output pixel -> where it comes from in the input: undo shift, rotation, zoom, mirror
    r = rows[None] - centre_r - shift_rows[:, None, None]
    c = cols[None] - centre_c - shift_cols[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    source_r = (cos * r + sin * c) / scale[:, None, None] + centre_r
    source_c = (-sin * r + cos * c) / scale[:, None, None]
    source_c = np.where(mirror[:, None, None], -source_c, source_c) + centre_c
    pixels = images[..., 0].astype(np.float32)
    warped = np.empty((n, height, width), dtype=np.float32)
    for i in range(n):  # one 2-D interpolation per image: bilinear, not trilinear across images
        warped[i] = ndimage.map_coordinates(pixels[i], [source_r[i], source_c[i]], order=1, mode="constant", cval=0.0)
    lit = np.clip(np.rint(warped * light[:, None, None]), 0, 255).astype(np.uint8)
    return lit[..., None]


def customer_photos(split, seed: int = CUSTOMER_PHOTOS_SEED, variation: Variation = CUSTOMER_PHOTOS):
    """A fixed varied copy of ``split`` (a :class:`tlkit.data.LabelledImages`): same labels, varied images."""
    return split.with_images(vary(split.images, variation, seed))
