"""README: its numbers come from committed results, and its quick start is what CI runs."""

from __future__ import annotations

import importlib.util
import re


def _renderer(repo_root):
    spec = importlib.util.spec_from_file_location("render_readme", repo_root / "benchmarks" / "render_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_tables_match_the_results_files(repo_root):
    renderer = _renderer(repo_root)
    text = (repo_root / "README.md").read_text()
    assert renderer.rendered_readme(text) == text, "run: python benchmarks/render_readme.py"


def test_every_results_block_is_filled(repo_root):
    text = (repo_root / "README.md").read_text()
    blocks = re.findall(r"<!-- results:([\w-]+) -->\n(.*?)\n<!-- /results:\1 -->", text, re.S)
    assert blocks, "README has no generated results blocks"
    for name, body in blocks:
        assert body.strip(), f"README block {name!r} is empty: its results file is missing"


def test_quick_start_has_the_two_commands_and_ci_runs_the_test_one(repo_root):
    readme = (repo_root / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^\./course \w+", quick_start, re.M)
    assert commands == ["./course lab", "./course test"]
    assert "exec ./course test" in (repo_root / ".ci" / "run").read_text()
