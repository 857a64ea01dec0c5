"""TensorFlow's C++ logs in the course kernel: what the shipped kernel spec hides, and why.

The ``python3`` kernel the notebooks name is installed by ``./course`` from
``deploy/jupyterlab/kernel.json`` with ``TF_CPP_MIN_LOG_LEVEL=3``. These tests
check that file and pin down the one ERROR-level line that makes level 3
necessary (see ``deploy/jupyterlab/README.md``): TensorFlow's ``make_deterministic``
rewrite, active under op determinism, turns Keras' parallel map into a
``MapDataset`` and keeps the ``use_unbounded_threadpool`` attribute.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOG_LINE = "NodeDef mentions attribute use_unbounded_threadpool"

_FIT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    import tensorflow as tf

    examples, deterministic = int(sys.argv[1]), sys.argv[2] == "on"
    keras.utils.set_random_seed(0)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.zeros((examples, 28, 28, 1), "float32"), np.zeros(examples, "int64"), batch_size=16, epochs=1, verbose=0)
    """
)


def _stderr_of_fits(*runs) -> list[str]:
    """Start one process per (examples, determinism) run at once; return each one's stderr."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TF_CPP_")}
    environment["TF_CPP_MIN_LOG_LEVEL"] = "0"
    processes = [subprocess.Popen([sys.executable, "-c", _FIT, str(examples), determinism], env=environment,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for examples, determinism in runs]
    outputs = []
    for process in processes:
        _, stderr = process.communicate(timeout=800)
        assert process.returncode == 0, stderr[-3000:]
        outputs.append(stderr)
    return outputs


def test_the_course_kernel_spec_silences_tensorflow_before_the_first_import():
    spec = json.loads((ROOT / "deploy" / "jupyterlab" / "kernel.json").read_text())
    assert spec["env"]["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert spec["argv"][:3] == ["python", "-m", "ipykernel_launcher"]  # jupyter_client runs it with the lab's Python
    course = (ROOT / "course").read_text()
    assert "deploy/jupyterlab/kernel.json:$share/kernels/python3/kernel.json" in course
    assert "deploy/jupyterlab/overrides.json:$share/lab/settings/overrides.json" in course
    overrides = json.loads((ROOT / "deploy" / "jupyterlab" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


@pytest.mark.timeout(900)
def test_the_unknown_attribute_line_comes_from_op_determinism_with_a_partial_batch():
    """If the first assertion fails, TensorFlow fixed make_deterministic: lower the kernel spec's level to 2."""
    partial_batch, whole_batches, no_determinism = _stderr_of_fits((100, "on"), (96, "on"), (100, "off"))
    assert LOG_LINE in partial_batch, "TensorFlow no longer logs it: TF_CPP_MIN_LOG_LEVEL=2 is enough"
    assert LOG_LINE not in whole_batches  # no partial batch: no TensorDataset, no rewrite
    assert LOG_LINE not in no_determinism  # no op determinism: no make_deterministic
