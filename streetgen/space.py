"""The Hugging Face Space venue: `python -m streetgen.space build OUT` writes a folder that a Space push accepts,
`python -m streetgen.space check OUT` verifies it.

Why: a Space is a git repository that runs `app.py` with the README's front matter as its settings, and it rejects
files over 10 MiB that are not in Git LFS. The folder holds the app, the library, the shipped checkpoints (so the
Space fetches nothing from the Hub), the app's requirements (no test tools) and `.gitattributes` naming the LFS
files. Imports no gradio or torch; the start check runs the built app in a subprocess.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository (app.py, ui/, streetgen/, checkpoints/)
SPACE_PATHS = ("app.py", "ui", "streetgen", "checkpoints", "README.md")
# Written into the Space folder only: this repository does not use Git LFS, and the same lines at its root would make
# a checkout with git-lfs installed turn the committed weights into pointers on the next `git add`.
SPACE_GITATTRIBUTES = "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
IGNORED = ("__pycache__", "*.pyc", "*.nbi", "*.nbc", ".gradio")  # caches never go into the Space
MAX_PLAIN_BYTES = 10 * 1024 * 1024  # a Space push rejects larger files unless Git LFS holds them
REQUIRED_KEYS = ("title", "sdk", "sdk_version", "app_file", "license")
TEST_ONLY = ("pytest", "playwright")  # the test suite's tools, not the app's
ZERO_GPU_HARDWARE = "zero-a10g"
START_TIMEOUT_S = 300

# Run inside the built folder: import its app (not this checkout's), launch on loopback and GET the page.
_START_SCRIPT = """
import os, sys, urllib.request
import app
assert os.path.dirname(os.path.abspath(app.__file__)) == os.getcwd(), app.__file__
_, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **app.LAUNCH_KWARGS)
try:
    status = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=60).status
finally:
    app.demo.close()
print("GET / ->", status)
sys.exit(0 if status == 200 else 1)
"""


def space_requirements(requirements: str, zero_gpu: bool = False) -> str:
    """The Space's requirements.txt: the app's pinned runtime requirements, plus `spaces` for a ZeroGPU Space."""
    lines = [line for line in requirements.splitlines() if not line.startswith("#")]
    header = "# The Space's runtime requirements (written by `python -m streetgen.space build`; no test tools).\n"
    return header + "\n".join(lines + (["spaces"] if zero_gpu else [])).strip() + "\n"


def build(out: str | Path, *, root: str | Path = ROOT, zero_gpu: bool = False) -> Path:
    """Write the Space folder `out` (new or empty) from the repository at `root`; returns it.

    zero_gpu: add the `spaces` package and suggest ZeroGPU hardware (render handlers then run under `spaces.GPU`)."""
    root, out = Path(root), Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty: build a Space into a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in SPACE_PATHS:
        source = root / name
        if not source.exists():
            raise FileNotFoundError(f"{source} is missing: build from a full streetgen checkout")
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=shutil.ignore_patterns(*IGNORED))
        else:
            shutil.copy2(source, out / name)
    (out / ".gitattributes").write_text(SPACE_GITATTRIBUTES, encoding="utf-8")
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    (out / "requirements.txt").write_text(space_requirements(requirements, zero_gpu), encoding="utf-8")
    if zero_gpu:
        _set_front_matter(out / "README.md", suggested_hardware=ZERO_GPU_HARDWARE)
    return out


def _set_front_matter(readme: Path, **values: str) -> None:
    """Change keys of a README's front matter in place (through huggingface_hub's card reader and writer)."""
    from huggingface_hub import SpaceCard

    card = SpaceCard.load(readme)
    for key, value in values.items():
        setattr(card.data, key, value)
    card.save(readme)


def front_matter(readme: str | Path) -> dict:
    """The YAML front matter of a README as a dict (empty when it has none), parsed as the Hub parses it."""
    from huggingface_hub import SpaceCard

    return SpaceCard.load(Path(readme)).data.to_dict()


def lfs_patterns(gitattributes: str) -> list[str]:
    """The path patterns that a .gitattributes text puts in Git LFS (`filter=lfs`)."""
    return [line.split()[0] for line in gitattributes.splitlines()
            if line.strip() and not line.lstrip().startswith("#") and "filter=lfs" in line.split()[1:]]


def in_lfs(relative: str, patterns: list[str]) -> bool:
    """Whether a repository path (forward slashes) matches an LFS pattern; as in git, a pattern without a slash
    matches the file name at any depth."""
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(relative if "/" in p else name, p.lstrip("/")) for p in patterns)


def check_front_matter(folder: Path) -> list[str]:
    """Problems with the Space settings: the README's front matter and its agreement with requirements.txt."""
    readme = folder / "README.md"
    if not readme.is_file():
        return ["README.md is missing"]
    meta = front_matter(readme)
    problems = [f"README.md front matter lacks {key!r}" for key in REQUIRED_KEYS if not meta.get(key)]
    if meta.get("sdk") not in (None, "gradio"):
        problems.append(f"README.md front matter says sdk {meta['sdk']!r}, the app needs 'gradio'")
    app_file = meta.get("app_file")
    if app_file and not (folder / app_file).is_file():
        problems.append(f"app_file {app_file!r} is not in the folder")
    path = folder / "requirements.txt"
    requirements = path.read_text(encoding="utf-8") if path.is_file() else ""
    pin = re.search(r"^gradio==(\S+)\s*$", requirements, re.MULTILINE)
    if not pin:
        problems.append("requirements.txt does not pin gradio (gradio==VERSION)")
    elif meta.get("sdk_version") and str(meta["sdk_version"]) != pin.group(1):
        problems.append(f"sdk_version {meta['sdk_version']} differs from requirements.txt's gradio=={pin.group(1)}")
    names = {re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0].lower() for line in requirements.splitlines()}
    problems += [f"requirements.txt installs the test tool {tool!r}" for tool in TEST_ONLY if tool in names]
    return problems


def check_sizes(folder: Path, limit: int = MAX_PLAIN_BYTES) -> list[str]:
    """Files over `limit` bytes that no LFS pattern in the folder's .gitattributes covers (a push would fail)."""
    attributes = folder / ".gitattributes"
    patterns = lfs_patterns(attributes.read_text(encoding="utf-8")) if attributes.is_file() else []
    problems = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not relative.startswith(".git/") and path.stat().st_size > limit \
                and not in_lfs(relative, patterns):
            problems.append(f"{relative} is {path.stat().st_size / 2**20:.1f} MiB and not in Git LFS (.gitattributes)")
    return problems


def check_starts(folder: Path, timeout: float = START_TIMEOUT_S) -> list[str]:
    """Problems starting the folder's app offline: import it in a fresh Python, launch on loopback, GET /."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT")}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", NO_PROXY="127.0.0.1,localhost")
    try:
        run = subprocess.run([sys.executable, "-c", _START_SCRIPT], cwd=folder, env=env, capture_output=True,
                             text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [f"app.py did not start within {timeout:.0f} s"]
    if run.returncode != 0:
        tail = (run.stderr or run.stdout).strip().splitlines()[-5:]
        return ["app.py did not start offline: " + " | ".join(tail)]
    return []


def check(folder: str | Path, *, start: bool = True) -> list[str]:
    """Everything wrong with a Space folder (empty when a push would be accepted and the app starts offline); the
    app is started only when the settings and file sizes pass (`start=False` skips it)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [f"{folder} is not a folder"]
    problems = check_front_matter(folder) + check_sizes(folder)
    return problems + (check_starts(folder) if start and not problems else [])


def main(argv: list[str] | None = None) -> int:
    """Command line: `build OUT [--zero-gpu]` or `check OUT [--no-start]`; exit status 1 when the check fails."""
    parser = argparse.ArgumentParser(prog="python -m streetgen.space", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="write a Space folder")
    build_cmd.add_argument("out")
    build_cmd.add_argument("--zero-gpu", action="store_true", help="add `spaces` and suggest ZeroGPU hardware")
    check_cmd = commands.add_parser("check", help="verify a Space folder")
    check_cmd.add_argument("out")
    check_cmd.add_argument("--no-start", action="store_true", help="skip starting the app")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(f"wrote {build(args.out, zero_gpu=args.zero_gpu)}")
            return 0
        problems = check(args.out, start=not args.no_start)
    except (OSError, ValueError) as err:
        parser.exit(2, f"{parser.prog}: {err}\n")
    for problem in problems:
        print(f"- {problem}")
    print("Space folder OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
