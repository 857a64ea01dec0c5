"""tlkit: a notebook-first teaching kit for transfer learning with Keras.

The package is split into small modules with one purpose each; import what
you need from them, for example ``from tlkit import data, models, freezing``.
TensorFlow is only imported by the modules that need it.
"""

__version__ = "0.1.0"
