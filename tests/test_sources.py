"""streetgen.sources: model sources told apart (checkpoint names, folders, run folders, Hub ids@rev) without torch."""
from __future__ import annotations

from pathlib import Path

import pytest

from fakes import fake_checkpoint, fake_run
from streetgen import sources


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """An empty checkpoints root in place of the repository's."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    monkeypatch.setattr(sources, "checkpoints_root", lambda: folder)
    return folder


def test_revision_is_split_from_a_hub_id():
    assert sources.split_revision("org/repo@v2") == ("org/repo", "v2")
    assert sources.split_revision("org/repo") == ("org/repo", None)
    assert sources.split_revision("org/repo@") == ("org/repo@", None)


def test_names_folders_runs_and_hub_ids_are_told_apart(root, tmp_path):
    fake_checkpoint(root / "cvae")
    run = fake_run(tmp_path / "runs" / "tiny")
    assert sources.local_folder("cvae") == root / "cvae" and not sources.is_hub_id("cvae")
    assert sources.run_folder(str(run)) == run and sources.local_folder(str(run)) == run / "export"
    assert sources.is_hub_id("org/repo") and sources.is_hub_id("org/repo@main")
    assert not sources.is_hub_id("missing") and not sources.is_hub_id("/abs/path") and not sources.is_hub_id("./x")
    assert sources.uses_hub(["cvae+org/repo@v1"]) and not sources.uses_hub(["cvae", str(run)])


def test_local_spec_replaces_parts_by_their_folders(root, tmp_path):
    fake_checkpoint(root / "cvae")
    run = fake_run(tmp_path / "runs" / "tiny")
    assert sources.local_spec(f"cvae+{run}") == f"{root / 'cvae'}+{run / 'export'}"


def test_check_local_names_what_is_wrong(root):
    assert sources.check_local(str(fake_checkpoint(root / "ok"))) == "country_cvae"
    with pytest.raises(FileNotFoundError, match="no checkpoint 'gone'"):
        sources.check_local("gone")
    with pytest.raises(ValueError, match="cut short"):
        sources.check_local(str(fake_checkpoint(root / "cut", cut=4)))
    bad = fake_checkpoint(root / "garbage")
    (bad / "model.safetensors").write_bytes(b"\xff" * 5)
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        sources.check_local(str(bad))
    (bad / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is missing or unreadable"):
        sources.check_local(str(bad))
    (fake_checkpoint(root / "noweights") / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        sources.check_local("noweights")


def test_run_view_reads_the_newest_grid_curves_and_last_whole_record(tmp_path):
    run = fake_run(tmp_path / "tiny")
    view = sources.run_view(str(run))
    assert view.samples == run / "samples" / "step_000100.png" and view.curves == run / "curves.png"
    assert view.last == {"step": 100, "loss": 0.25}  # the torn last line is skipped
    assert sources.run_view(str(tmp_path)) is None


def test_card_summary_is_empty_without_a_card(root):
    assert sources.card_summary(str(fake_checkpoint(root / "nocard"))) == ""
    assert sources.card_summary("gone") == ""
