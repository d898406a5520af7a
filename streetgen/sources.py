"""Model sources: where the app (or a script) takes a checkpoint from, told apart without loading anything.

A source is one part of a model spec ("a+b" joins parts, see streetgen.specs):

    country_diffusion           checkpoints/<name>
    /path/to/folder             a checkpoint folder (config.json + model.safetensors + README.md)
    runs/tiny                   a training run's folder: its export/ is the checkpoint, its samples/ and
                                curves.png are what the run left to look at (train/common/run.py's layout)
    org/repo  or  org/repo@rev  a Hub repo, optionally at a revision (branch, tag or commit)

Nothing here imports torch or huggingface_hub: the app decides from these answers whether it needs the Hub at
all before huggingface_hub reads HF_HUB_OFFLINE.
"""
from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from streetgen.specs import parse_spec

EXPORT_DIR = "export"  # a run folder's inference checkpoint (train/common/export.py)
SAMPLES_DIR = "samples"  # samples/step_XXXXXX.png (train/common/logging.py save_grid)
CURVES_NAME = "curves.png"  # loss curves (train/common/logging.py plot_curves)
METRICS_NAME = "metrics.jsonl"  # one JSON object per logged step
_HUB_ID = re.compile(r"^[\w\-.]{1,96}/[\w\-.]{1,96}(@[\w\-./]{1,96})?$")


def checkpoints_root() -> Path:
    """The repository's checkpoints/ folder (next to the streetgen package)."""
    return Path(__file__).resolve().parents[1] / "checkpoints"


def split_revision(part: str) -> tuple[str, str | None]:
    """("org/repo", "rev") for "org/repo@rev"; (part, None) when it names no revision."""
    name, at, revision = part.partition("@")
    return (name, revision) if at and revision else (part, None)


def run_folder(part: str) -> Path | None:
    """The run folder a source names (a folder holding export/config.json), else None."""
    for folder in (Path(part).expanduser(), checkpoints_root() / part):
        if (folder / EXPORT_DIR / "config.json").is_file():
            return folder
    return None


def local_folder(part: str) -> Path | None:
    """The local checkpoint folder of a source (a run's export/ for a run folder), or None when it is not local."""
    run = run_folder(part)
    if run is not None:
        return run / EXPORT_DIR
    for folder in (Path(part).expanduser(), checkpoints_root() / part):
        if folder.is_dir():
            return folder
    return None


def is_hub_id(part: str) -> bool:
    """Whether a source is a Hub repo id ("org/repo[@rev]") rather than a local folder or checkpoint name."""
    return local_folder(part) is None and bool(_HUB_ID.match(part)) and not part.startswith((".", "~", "/"))


def uses_hub(specs: list[str]) -> bool:
    """Whether any part of any of these specs is a Hub repo id (the app then leaves the Hub online)."""
    return any(is_hub_id(part) for spec in specs for part in parse_spec(spec))


def resolve_part(part: str) -> Path:
    """The local folder holding a source's checkpoint; a Hub id is fetched (or found in the cache) at its revision.
    FileNotFoundError (CheckpointNotFoundError) when there is none."""
    folder = local_folder(part)
    if folder is not None:
        return folder
    from streetgen.hub import resolve

    name, revision = split_revision(part)
    return resolve(name, revision=revision)


def local_spec(spec: str) -> str:
    """`spec` with every part replaced by its local folder, ready for the pipelines' from_pretrained."""
    folders = [str(resolve_part(part)) for part in parse_spec(spec)]
    bad = [f for f in folders if "+" in f]
    if bad:
        raise ValueError(f"folder {bad[0]!r} has a '+' in its path, which joins model parts; rename it")
    return "+".join(folders)


def check_weights(path: Path) -> None:
    """ValueError unless `path` is a whole safetensors file (its header parses and the data it names is there);
    reads the header only."""
    try:
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size)) if size < 100_000_000 else None
    except (OSError, struct.error, ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path.name} is not a readable safetensors file ({type(err).__name__})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path.name} has no safetensors header")
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    if 8 + size + max(ends, default=0) > path.stat().st_size:
        raise ValueError(f"{path.name} is cut short (corrupt or still downloading)")


def check_local(part: str) -> str:
    """The architecture of a local source after checking its folder (config.json names one, the weights file is a
    whole safetensors file); ValueError or FileNotFoundError saying what is wrong."""
    folder = local_folder(part)
    if folder is None:
        where = "" if Path(part).expanduser().is_absolute() else f" (not a folder, a run folder or checkpoints/{part})"
        raise FileNotFoundError(f"no checkpoint {part!r}{where}")
    config_path = folder / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{part}: config.json is missing or unreadable ({type(err).__name__})") from None
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise ValueError(f"{part}: config.json names no architecture")
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"{part}: no model.safetensors")
    check_weights(folder / "model.safetensors")
    return config["architecture"]


def architecture(part: str) -> str:
    """The architecture a source's config.json names: checked locally (as `check_local`), or for a Hub id its
    config.json alone is fetched (cached; the weights come when the model is loaded). Errors as those two raise."""
    if not is_hub_id(part):
        return check_local(part)
    from streetgen.hub import fetch_config

    name, revision = split_revision(part)
    return fetch_config(name, revision)["architecture"]


@dataclass(frozen=True)
class RunView:
    """What a training run left to look at: its newest sample grid, its loss curves and its last logged step."""

    samples: Path | None
    curves: Path | None
    last: dict | None


def run_view(part: str) -> RunView | None:
    """The run folder's pictures and last metrics record as they are on disk (nothing recomputed); None when the
    source is not a run folder."""
    run = run_folder(part)
    if run is None:
        return None
    grids = sorted((run / SAMPLES_DIR).glob("step_*.png"))
    curves = run / CURVES_NAME
    return RunView(samples=grids[-1] if grids else None, curves=curves if curves.is_file() else None,
                   last=_last_record(run / METRICS_NAME))


def _last_record(path: Path) -> dict | None:
    """The last whole JSON line of metrics.jsonl (a torn last line is skipped), or None."""
    if not path.is_file():
        return None
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            return record
    return None


def card_summary(part: str, most: int = 3) -> str:
    """One short line from a local source's card: its name, architecture and up to `most` metrics ("" if none)."""
    folder = local_folder(part)
    if folder is None or not (folder / "README.md").is_file():
        return ""
    from streetgen.models.card import read_card  # huggingface_hub: only once the app runs

    try:
        info = read_card(folder)
        architecture = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architecture", "?")
    except (OSError, ValueError) as err:
        return f"{part}: card unreadable ({type(err).__name__})"
    run = run_folder(part)
    name = run.name if run is not None else folder.name
    metrics = ", ".join(f"{k} {v:.3g}" if isinstance(v, (int, float)) else f"{k} {v}"
                        for k, v in sorted(info.metrics.items())[:most])
    kind = f" ({architecture})" if architecture != name else ""
    return f"{name}{kind}" + (f": {metrics}" if metrics else "")
