"""Student submissions of the tiny test assignment (tests/fixtures/assignment/tiny_course.ipynb).

Each submission starts from the released student notebook and fills the
solution cells (by cell id) with a student's code: right answers, typical
mistakes, tampering attempts, a crash and an endless loop.
"""

from __future__ import annotations

import pathlib

import nbformat

ASSIGNMENT = pathlib.Path(__file__).resolve().parent / "fixtures" / "assignment"
SOURCE = ASSIGNMENT / "tiny_course.ipynb"
SOLUTION_CELLS = {"q1": "cell-03", "q2": "cell-06", "q3": "cell-10", "q4": "cell-13", "q5": "cell-17"}
CHECK_CELLS = {"q1": "cell-04", "q2": "cell-07", "q3": "cell-11", "q4": "cell-14", "q5": "cell-18"}

RIGHT = {
    "q1": "base.trainable = False",
    "q2": 'model = keras.Sequential([base, keras.layers.Dense(5, activation="softmax")])\n'
          'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])',
    "q3": 'model.layers[-1].trainable = False\n'
          'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])',
    "q4": "base = make_base()\nbase.trainable = False",
    "q5": "base.trainable = True\n"
          "for layer in base.layers:\n"
          "    if isinstance(layer, keras.layers.BatchNormalization):\n"
          "        layer.trainable = False\n"
          'model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy")',
}

# One typical mistake per submission; every other answer is right.  Each entry:
# the wrong answers, the scores expected per question, and words the feedback
# of the failing question must contain (the hint names what went wrong).
MISTAKES = {
    "base-not-frozen": (
        {"q1": "base.layers[0].trainable = False"},
        # q2 checks the model built on top of `base`, so it fails with q1
        {"q1": 0, "q2": 0, "q3": 1, "q4": 1, "q5": 1},
        {"q1": ("still has", "trainable")},
    ),
    "wrong-head-size": (
        {"q2": 'model = keras.Sequential([base, keras.layers.Dense(10, activation="softmax")])\n'
               'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])'},
        {"q1": 1, "q2": 0, "q3": 1, "q4": 1, "q5": 1},
        {"q2": ("10 units", "5 classes")},
    ),
    "stale-compile": (
        {"q3": "model.layers[-1].trainable = False"},
        {"q1": 1, "q2": 1, "q3": 0, "q4": 1, "q5": 1},
        {"q3": ("not compiled again",)},
    ),
    "batchnorm-left-training": (
        {"q4": "base = make_base()\n"
               "for layer in base.layers:\n"
               "    if not isinstance(layer, keras.layers.BatchNormalization):\n"
               "        layer.trainable = False"},
        # q5 fails too, and rightly: `base.trainable` was never set to False, so q5's
        # `base.trainable = True` changes nothing in Keras 3 and the layers stay frozen
        {"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0},
        {"q4": ("BatchNormalization", "bn"), "q5": ("no layer of `base` is trainable",)},
    ),
    "learning-rate-too-large": (
        {"q5": "for layer in base.layers:\n"
               "    layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)\n"
               'model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")'},
        {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0},
        {"q5": ("learning rate", "0.01")},
    ),
    "forgot-to-unfreeze": (
        {"q5": 'model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy")'},
        {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0},
        {"q5": ("no layer of `base` is trainable",)},
    ),
}

# One tampering attempt per submission, each hiding a wrong answer it hopes to
# pass off as right.  Each entry: the answers, edits to locked check cells, the
# scores expected, and the words one of the flags must contain.
TAMPERS = {
    "patches-a-check": (
        {"q1": 'ex.q1.check = lambda: print("Correct")'},
        {},
        {"q1": 0, "q2": 0, "q3": 1, "q4": 1, "q5": 1},
        ("replaces a method of a tlkit check", "q1 attributes"),
    ),
    "prints-correct": (
        {"q2": 'model = keras.Sequential([base, keras.layers.Dense(10, activation="softmax")])\n'
               'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n'
               'print("Correct (q2): frozen base + a new 5-class head")'},
        {},
        {"q1": 1, "q2": 0, "q3": 1, "q4": 1, "q5": 1},
        ("prints a fake check result", "displays 'Correct' outside a check cell"),
    ),
    "edits-a-locked-cell": (
        {"q3": "model.layers[-1].trainable = False"},
        {"q3": 'print("Correct (q3): the compiled training step matches")'},
        {"q1": 1, "q2": 1, "q3": 0, "q4": 1, "q5": 1},
        ("was edited (checksum mismatch)",),
    ),
    "writes-the-gradebook": (
        {"q1": "base.trainable = False\n"
               "from tlkit.gradebook import Gradebook\n"
               'Gradebook().record_check("someone", "tiny_course", "q1", "correct", "Well done.")'},
        {},
        {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0},  # voids the whole attempt
        ("writes to or opens the gradebook", "check records but the notebook has only"),
    ),
    "replaces-a-module": (
        {"q2": "import sys, types\n"
               "import tlkit.exercises.predicates as real_predicates\n"
               'fake = types.ModuleType("tlkit.exercises.predicates")\n'
               "fake.__dict__.update(real_predicates.__dict__)\n"
               "fake.head_matches_classes = lambda *args, **kwargs: None\n"
               'sys.modules["tlkit.exercises.predicates"] = fake\n'
               'sys.modules["tlkit.exercises.nb01_feature_extraction"].check = fake\n'
               'model = keras.Sequential([base, keras.layers.Dense(10, activation="softmax")])\n'
               'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")'},
        {},
        # a patch that stays in the kernel voids every later check as well
        {"q1": 1, "q2": 0, "q3": 0, "q4": 0, "q5": 0},
        ("changes sys.modules", "tlkit.exercises.predicates"),
    ),
    "patches-the-engine": (
        {"q3": "model.layers[-1].trainable = False\n"
               "import tlkit.exercises.core as core\n"
               'core.Question._evaluate = lambda self: core._check_result("correct", "fine")'},
        {},
        {"q1": 1, "q2": 1, "q3": 0, "q4": 0, "q5": 0},
        ("patches tlkit's exercise engine", "tlkit.exercises.core.Question._evaluate"),
    ),
    "replaces-the-saver": (
        {"q4": "good = make_base()\n"
               "good.trainable = False\n"
               "original_saver = keras.saving.save_model\n"
               "keras.saving.save_model = lambda model, path, **options: original_saver(good, path, **options)\n"
               "base = make_base()"},
        {},
        {"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0},
        ("replaces a saving function", "keras:saving.save_model"),
    ),
}

CRASH = {"q5": "import os\nos.kill(os.getpid(), 9)"}
ENDLESS_LOOP = {"q5": "while True:\n    pass"}


def read_release(release_folder: pathlib.Path):
    return nbformat.read(str(release_folder / SOURCE.name), as_version=4)


def make_submission(release_folder: pathlib.Path, answers: dict, locked_edits: dict | None = None):
    """The released notebook with ``answers`` (question -> code) in its solution cells.

    Unanswered questions get the right answer unless ``answers`` maps them to None
    (left as released). ``locked_edits`` (question -> code) overwrite check cells.
    """
    notebook = read_release(release_folder)
    by_id = {cell["id"]: cell for cell in notebook.cells}
    for question, cell_id in SOLUTION_CELLS.items():
        code = answers.get(question, RIGHT[question])
        if code is None:
            continue
        given = [line for line in by_id[cell_id]["source"].splitlines()
                 if line.strip() and not line.startswith("#") and "NotImplementedError" not in line]
        if question in ("q3", "q4"):
            given = []  # the given line is part of every answer above
        by_id[cell_id]["source"] = "\n".join(given + [code])
    for question, code in (locked_edits or {}).items():
        by_id[CHECK_CELLS[question]]["source"] = code
    return notebook


def write_submission(folder: pathlib.Path, student: str, notebook) -> pathlib.Path:
    path = folder / student / SOURCE.name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


# -- hostile submissions (issue 17): each attacks the grader from inside its sandbox ---------------------
HOSTILE_MARKER = "tlkit-hostile-marker"


def hostile_escape(targets: dict) -> dict:
    """Right answers, plus attempts to reach outside the submission's own folder (issue 17).

    ``targets`` holds the real paths an informed attacker would aim at: the
    neighbour's run folder, the batch's work folder, tlkit's source folder and
    checker module, the instructor's gradebook, its spool and an exported CSV.
    Each attempt prints ``ATTEMPT <name>: done|blocked``; a detached
    grandchild (setsid, double fork) waits for its parents to go and then
    writes the gradebook, the CSV and the neighbour's folder.
    """
    values = {name: repr(str(path)) for name, path in targets.items()}
    attack = f'''
import os, json, subprocess, sqlite3
MARKER = {HOSTILE_MARKER!r}
def attempt(name, action):
    try:
        action()
        print(f"ATTEMPT {{name}}: done")
    except Exception as error:
        print(f"ATTEMPT {{name}}: blocked ({{type(error).__name__}})")
def write(path, text="pwned"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as handle:
        handle.write(text)
attempt("neighbour", lambda: write(os.path.join({values['neighbour']}, MARKER)))
attempt("work-folder", lambda: write(os.path.join({values['work']}, MARKER)))
attempt("tlkit-source", lambda: write(os.path.join({values['tlkit']}, MARKER + ".py")))
attempt("tlkit-checker", lambda: open({values['checker']}, "a").close())
attempt("gradebook", lambda: sqlite3.connect({values['gradebook']}).execute("CREATE TABLE pwned (x)"))
attempt("spool", lambda: write({values['spool']}, json.dumps({{"table": "grades", "row": {{"score": 99}}}}) + "\\n"))
attempt("csv", lambda: write({values['csv']}, "pwned,1,1\\n"))
print("ENV TLKIT_GRADEBOOK", os.environ.get("TLKIT_GRADEBOOK"))
pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
seen = " ".join(open(f"/proc/{{pid}}/cmdline", "rb").read().decode("utf-8", "replace") for pid in pids)
print("PROC grader visible:", any(word in seen for word in ("pytest", {values['gradebook']}, "--gradebook")))
later = f"sleep 3; echo {{MARKER}} >> {values['gradebook']}; echo {{MARKER}} >> {values['csv']}; " \\
        f"mkdir -p {values['neighbour']}; echo {{MARKER}} > {values['neighbour']}/{{MARKER}}; sleep 30"
subprocess.Popen(["sh", "-c", f'(setsid sh -c "{{later}}" &)'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''
    return {"q1": RIGHT["q1"] + "\n" + attack}


def hostile_late_evidence(evidence_file) -> dict:
    """A wrong q2 whose check says Incorrect; the q3 cell then tries to supply q2 evidence after the fact.

    It overwrites where the evidence would be on disk, replays the grader's own
    evidence cell for q2 from the input history with a right model in place,
    and displays a forged evidence output.
    """
    return {
        "q2": 'model = keras.Sequential([base, keras.layers.Dense(10, activation="softmax")])\n'
              'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])',
        "q3": f'''import os
from IPython.display import display
model = keras.Sequential([base, keras.layers.Dense(5, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
try:
    os.makedirs(os.path.dirname({str(evidence_file)!r}), exist_ok=True)
    with open({str(evidence_file)!r}, "w") as handle:
        handle.write('{{"question": "q2", "values": {{}}}}')
    print("LATE disk write: done")
except OSError as error:
    print("LATE disk write: blocked", type(error).__name__)
for earlier in list(In):
    if earlier.startswith("exec(") and "emit_evidence(STUDENT_GLOBALS" in earlier and "'question': 'q2'" in earlier:
        exec(earlier)
display({{"application/vnd.tlkit.evidence+json": {{"question": "q2", "evidence": {{}}, "files": {{}}}}}}, raw=True)
model.layers[-1].trainable = False
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])''',
    }


# A wrong q1 (only the first layer frozen) with a patched Keras method the evidence is serialised with:
# every layer's saved config claims trainable=False, so the saved base looks frozen.
HOSTILE_PATCHED_SERIALIZATION = {
    "q1": "base.layers[0].trainable = False\n"
          "_config_of = keras.layers.Layer.get_config\n"
          "def _claims_frozen(self):\n"
          "    config = _config_of(self)\n"
          '    config["trainable"] = False\n'
          "    return config\n"
          'setattr(keras.layers.Layer, "get_config", _claims_frozen)',
}
