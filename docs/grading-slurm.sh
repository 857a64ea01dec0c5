#!/bin/bash
# Grade one notebook's submissions in N shards as a Slurm job array.
#
#   sbatch docs/grading-slurm.sh
#   # when every task has finished (or: sbatch --dependency=afterok:<jobid> merge.sh):
#   .venv/bin/python -m tlkit gradebook merge grading/01/shard-*.sqlite3 --out grading/01/gradebook.sqlite3
#
# Task I of the array (SLURM_ARRAY_TASK_ID = 0..N-1) grades shard I/N: the students at positions I, I+N,
# I+2N... of the sorted student ids. N is SLURM_ARRAY_TASK_COUNT, so only the --array line says how many
# shards there are. A task that is re-run (scontrol requeue) replaces its shard's gradebook.
# Run it from the repository root, on a shared file system that holds the submissions and the outputs;
# the nodes need bubblewrap (`apt-get install bubblewrap`).
#SBATCH --job-name=tlkit-grade-01
#SBATCH --array=0-3                # N = 4 shards: tasks 0, 1, 2, 3
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G                   # --workers 2: about 1.2 GB per worker, plus the grader (~0.5 GB)
#SBATCH --time=04:00:00
#SBATCH --output=grading/01/logs/shard-%a.out
set -euo pipefail

SHARDS=${SLURM_ARRAY_TASK_COUNT:?run this with sbatch --array}
INDEX=${SLURM_ARRAY_TASK_ID:?run this with sbatch --array}

exec .venv/bin/python -m tlkit grade notebooks/01_feature_extraction.ipynb \
    --submissions submissions/01/ \
    --manifest release/MANIFEST.json \
    --out "grading/01/shard-${INDEX}" \
    --gradebook "grading/01/shard-${INDEX}.sqlite3" \
    --shard "${INDEX}/${SHARDS}" \
    --workers "${SLURM_CPUS_PER_TASK:-1}"
