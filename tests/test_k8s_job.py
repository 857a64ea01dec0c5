"""docs/grading-k8s-indexed-job.yaml: a valid batch/v1 Job whose pod indices map onto the grader's shards.

No Kubernetes cluster runs here, so this checks what can be checked without
one: the file validates, strictly (unknown fields are errors), against the
batch/v1 Job schema of Kubernetes 1.29 (the first release with
``backoffLimitPerIndex`` in beta) and of the newest release the
``kubernetes-validate`` package ships; and the container's command, run by
``/bin/sh`` exactly as the pod would run it with ``JOB_COMPLETION_INDEX`` set,
hands ``python -m tlkit grade`` a ``--shard I/N`` with N the Job's
``completions``, so the N pods grade disjoint shards that together cover the
whole class.
"""

from __future__ import annotations

import copy
import json
import os
import pathlib
import stat
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from tlkit.instructor.cli import build_parser
from tlkit.instructor.parallel import parse_shard, select_shard

ROOT = pathlib.Path(__file__).resolve().parents[1]
JOB_FILE = ROOT / "docs" / "grading-k8s-indexed-job.yaml"
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


@pytest.fixture(scope="module")
def job() -> dict:
    documents = [document for document in yaml.safe_load_all(JOB_FILE.read_text(encoding="utf-8")) if document]
    assert len(documents) == 1
    return documents[0]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_job_validates_against_the_kubernetes_job_schema(job, version):
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    kubernetes_validate.validate(job, version, strict=True)


def test_the_schema_check_rejects_a_misspelt_or_mistyped_field(job):
    misspelt = copy.deepcopy(job)
    misspelt["spec"]["completion"] = misspelt["spec"].pop("completions")
    with pytest.raises(kubernetes_validate.ValidationError, match="completion"):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSIONS[-1], strict=True)
    mistyped = copy.deepcopy(job)
    mistyped["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] = "2 cores"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(mistyped, KUBERNETES_VERSIONS[-1], strict=True)


def test_an_indexed_job_retries_a_failed_pod_with_its_own_index(job):
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert 1 <= spec["parallelism"] <= spec["completions"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"  # backoffLimitPerIndex requires it
    assert spec["backoffLimitPerIndex"] >= 1


def grade_arguments(job: dict, index: int, folder: pathlib.Path) -> list[str]:
    """The arguments ``python -m tlkit grade`` gets in the pod of ``index``: the container's shell line, run."""
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "-c"] and len(container["args"]) == 1
    python = folder / ".venv" / "bin" / "python"
    if not python.exists():
        python.parent.mkdir(parents=True)
        python.write_text('#!/bin/sh\nexec "$REAL_PYTHON" -c \'import json, sys; print(json.dumps(sys.argv[1:]))\' '
                          '"$@"\n', encoding="utf-8")
        python.chmod(python.stat().st_mode | stat.S_IXUSR)
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "JOB_COMPLETION_INDEX": str(index),
                   "REAL_PYTHON": sys.executable}
    result = subprocess.run([*container["command"], *container["args"]], cwd=str(folder), env=environment,
                            capture_output=True, text=True, check=True)
    arguments = json.loads(result.stdout)
    assert arguments[:2] == ["-m", "tlkit"]
    return arguments[2:]


def test_each_pod_grades_the_shard_of_its_completion_index(job, tmp_path):
    completions = job["spec"]["completions"]
    roster = [f"student-{number:03d}" for number in range(2 * completions + 3)]
    parser = build_parser()
    covered, outputs = [], set()
    for index in range(completions):
        arguments = parser.parse_args(grade_arguments(job, index, tmp_path))
        assert arguments.command == "grade"
        shard = parse_shard(arguments.shard)
        assert (shard.index, shard.count) == (index, completions), arguments.shard
        assert f"shard-{index}" in arguments.gradebook and f"shard-{index}" in arguments.out
        outputs.update({arguments.gradebook, arguments.out})
        covered.extend(select_shard(roster, shard))
    assert sorted(covered) == roster  # every student exactly once
    assert len(outputs) == 2 * completions  # no two pods write the same gradebook or folder


def test_the_docs_say_the_job_file_has_not_run_on_a_cluster():
    text = JOB_FILE.read_text(encoding="utf-8")
    assert "has not run on a Kubernetes cluster" in text
    instructor = (ROOT / "docs" / "instructor.md").read_text(encoding="utf-8")
    assert "has not run on a Kubernetes cluster" in instructor
