"""streetgen.space: the Hugging Face Space folder (front matter, LFS for large files, requirements, offline start)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from streetgen import space

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_front_matter_is_a_gradio_space_on_the_pinned_gradio():
    meta = space.front_matter(ROOT / "README.md")
    pin = re.search(r"^gradio==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE).group(1)
    assert meta["sdk"] == "gradio" and str(meta["sdk_version"]) == pin and meta["app_file"] == "app.py"
    assert meta["title"] and meta["license"] and meta["suggested_hardware"]
    assert space.check_front_matter(ROOT) == []


def test_the_readme_still_holds_ci_runs_test_command_as_a_whole_line():
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"^README_COMMAND='(.*)'$", ci, re.MULTILINE).group(1)
    assert command in (ROOT / "README.md").read_text().splitlines()


def test_every_shipped_checkpoint_over_10_mib_is_in_an_lfs_pattern():
    patterns = space.lfs_patterns(space.SPACE_GITATTRIBUTES)
    big = [p.relative_to(ROOT).as_posix() for p in (ROOT / "checkpoints").rglob("*")
           if p.is_file() and p.stat().st_size > space.MAX_PLAIN_BYTES]
    assert big and all(space.in_lfs(p, patterns) for p in big)


def test_lfs_patterns_match_as_git_does():
    patterns = space.lfs_patterns("# comment\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
                                  "docs/*.jpg filter=lfs -text\n*.md text\n")
    assert patterns == ["*.safetensors", "docs/*.jpg"]
    assert space.in_lfs("checkpoints/judges/place/model.safetensors", patterns)
    assert space.in_lfs("docs/grid.jpg", patterns) and not space.in_lfs("other/grid.jpg", patterns)
    assert not space.in_lfs("README.md", patterns)


def test_a_large_file_outside_lfs_is_named(tmp_path):
    with open(tmp_path / "big.bin", "wb") as f:  # sparse: 11 MiB on paper, nothing on disk
        f.truncate(11 * 2**20)
    (tmp_path / "small.bin").write_bytes(b"x")
    assert space.check_sizes(tmp_path) == ["big.bin is 11.0 MiB and not in Git LFS (.gitattributes)"]
    (tmp_path / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    assert space.check_sizes(tmp_path) == []


def test_space_requirements_have_no_test_tools_and_spaces_only_for_zero_gpu():
    text = (ROOT / "requirements.txt").read_text()
    plain, zero = space.space_requirements(text), space.space_requirements(text, zero_gpu=True)
    assert "gradio==" in plain and "torch==" in plain and "pytest" not in plain
    assert "spaces" not in plain.split() and zero.splitlines()[-1] == "spaces"


def test_front_matter_problems_are_named(tmp_path):
    (tmp_path / "README.md").write_text("---\ntitle: x\nsdk: gradio\nsdk_version: 1.0\napp_file: app.py\n---\n# x\n")
    (tmp_path / "requirements.txt").write_text("gradio==6.31.0\npytest==9.2.0\n")
    assert space.check_front_matter(tmp_path) == [
        "README.md front matter lacks 'license'", "app_file 'app.py' is not in the folder",
        "sdk_version 1.0 differs from requirements.txt's gradio==6.31.0",
        "requirements.txt installs the test tool 'pytest'"]
    assert space.check(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'} is not a folder"]


def test_build_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_info:
        space.main(["build", str(tmp_path)])
    assert exit_info.value.code == 2 and "is not empty" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["keep.txt"]


@pytest.mark.slow
def test_a_built_space_passes_its_check_and_starts_offline(tmp_path):
    out = space.build(tmp_path / "space")
    names = sorted(p.name for p in out.iterdir())
    assert names == [".gitattributes", "README.md", "app.py", "checkpoints", "requirements.txt", "streetgen", "ui"]
    assert not list(out.rglob("__pycache__")) and (out / "checkpoints/cvae/model.safetensors").is_file()
    assert space.check(out) == []  # front matter, sizes, and app.py launched from the folder answering GET /
    (out / "app.py").write_text((out / "app.py").read_text() + '\nraise SystemExit("broken on purpose")\n')
    assert space.check_starts(out) == ["app.py did not start offline: broken on purpose"]


@pytest.mark.slow
def test_a_zero_gpu_build_adds_spaces_and_suggests_zero_gpu_hardware(tmp_path):
    out = space.build(tmp_path / "space", zero_gpu=True)
    assert space.front_matter(out / "README.md")["suggested_hardware"] == space.ZERO_GPU_HARDWARE
    assert (out / "requirements.txt").read_text().splitlines()[-1] == "spaces"
    assert space.check(out, start=False) == []
