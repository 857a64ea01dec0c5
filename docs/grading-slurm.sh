#!/bin/bash
# Grade one notebook's submissions in N shards as a Slurm job array.
#
#   mkdir -p grading/01/logs           # Slurm opens the log files before the job starts
#   sbatch docs/grading-slurm.sh
#   # when every task has finished (or: sbatch --dependency=afterok:<jobid> merge.sh):
#   .venv/bin/python -m tlkit gradebook merge grading/01/shard-*.sqlite3 --out grading/01/gradebook.sqlite3
#
# Task I of the array (SLURM_ARRAY_TASK_ID = 0..N-1) grades shard I/N: the students at positions I, I+N,
# I+2N... of the sorted student ids. N is SLURM_ARRAY_TASK_COUNT, so only the --array line says how many
# shards there are. A task that is re-run (scontrol requeue, or a node failure) replaces its shard's
# gradebook: the shard writes it aside and renames it into place when it is complete.
#
# Another notebook, another array size or other folders need no edit of this file: sbatch passes your
# environment to the job, and its command-line options override the #SBATCH lines, e.g.
#
#   mkdir -p grading/04/logs
#   TLKIT_NOTEBOOK=notebooks/04_negative_transfer.ipynb TLKIT_SUBMISSIONS=submissions/04 \
#   TLKIT_GRADING=grading/04 sbatch --array=0-9 --output=grading/04/logs/shard-%a.out docs/grading-slurm.sh
#
#   TLKIT_NOTEBOOK     the source notebook, with solutions     (default notebooks/01_feature_extraction.ipynb)
#   TLKIT_SUBMISSIONS  the collected submissions               (default submissions/01)
#   TLKIT_MANIFEST     the release's MANIFEST.json             (default release/MANIFEST.json)
#   TLKIT_GRADING      where shard I writes shard-I/ (feedback, CSV) and shard-I.sqlite3 (default grading/01)
#   TLKIT_PYTHON       the Python with tlkit installed         (default .venv/bin/python)
#   TLKIT_CELL_TIMEOUT seconds one cell may run                (default 600: a busy node is slow; an endless
#                      loop is still stopped)
#   TLKIT_TIMEOUT      seconds one whole submission may run    (default 1800)
#
# Relative paths are relative to the folder you ran sbatch in (Slurm starts the job there): run it from
# the repository root, on a shared file system that holds the submissions and the outputs. The nodes
# need bubblewrap (`apt-get install bubblewrap`). tests/test_slurm.py runs this file, unchanged, on a
# one-node Slurm cluster with the variables above and --array/--output on the command line.
#SBATCH --job-name=tlkit-grade
#SBATCH --array=0-3                # N = 4 shards: tasks 0, 1, 2, 3
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G                   # --workers 2: about 1.2 GB per worker, plus the grader (~0.5 GB)
#SBATCH --time=04:00:00
#SBATCH --output=grading/01/logs/shard-%a.out
set -euo pipefail

SHARDS=${SLURM_ARRAY_TASK_COUNT:?run this with sbatch --array}
INDEX=${SLURM_ARRAY_TASK_ID:?run this with sbatch --array}
GRADING=${TLKIT_GRADING:-grading/01}

exec "${TLKIT_PYTHON:-.venv/bin/python}" -m tlkit grade "${TLKIT_NOTEBOOK:-notebooks/01_feature_extraction.ipynb}" \
    --submissions "${TLKIT_SUBMISSIONS:-submissions/01}" \
    --manifest "${TLKIT_MANIFEST:-release/MANIFEST.json}" \
    --out "${GRADING}/shard-${INDEX}" \
    --gradebook "${GRADING}/shard-${INDEX}.sqlite3" \
    --shard "${INDEX}/${SHARDS}" \
    --cell-timeout "${TLKIT_CELL_TIMEOUT:-600}" \
    --timeout "${TLKIT_TIMEOUT:-1800}" \
    --workers "${SLURM_CPUS_PER_TASK:-1}"
