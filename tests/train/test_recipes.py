"""docs/recipes.md, run as written at small scale: its commands (read from the page) on small data in the real
formats, with 2 processes on the CPU (gloo) and tiny models; every training run is killed after its first
checkpoint, resumed, exported, and its card must name its data and licence."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "docs" / "recipes.md"
KILL_AFTER_S = 240  # a run that never checkpoints within this is a failure

# what makes each training command small (argparse keeps the last value of a repeated flag)
SMALL = {
    "train.train_cvae": "--batch-size 4 --latent-dim 8 --embed-dim 4",
    "train.train_country_diffusion": "--batch-size 2 --image-size 16 --channels 8,16 --attention 0,1 --patch-size 2 "
                                     "--noise-shift 2 --sample-steps 2",
    "train.train_map_gan": "--batch-size 4 --final-size 16 --z-dim 16 --context-dim 8 --coord-bands 3 --channels 16,8 "
                           "--stage-images 4 --fade-images 4 --curriculum 1,all --curriculum-steps 1 --place-images 8 "
                           "--select-every 4 --select-points 4",
    "train.train_layout_gan": "--limit 8 --height 32 --width 64 --batch-size 2 --z-dim 16 --w-dim 32 "
                              "--mapping-layers 2 --g-last 4 --g-max 32 --d-last 4 --d-max 32 --r1-every 2 --eval-n 8",
    "train.train_spade": "--camvid-limit 4 --size 64x96 --perceptual-weight 0 --channels 32,32,16,16 --spade-hidden 16 "
                         "--latent-dim 8 --d-width 8 --d-layers 3 --batch-size 2",
    "train.train_cyclegan": "--folder-limit 4 --size 32 --ngf 8 --n-blocks 1 --d-width 8",
    "train.train_pix2pix": "--size 32 --num-downs 4 --ngf 8 --d-width 8 --batch-size 2",
}
RUN_FLAGS = "--steps 100000 --log-every 2 --ckpt-every 2 --sample-every 1000 --device cpu --no-progress"
LICENCE = {"osv5m": ("cc-by-sa-4.0", "osv5m/osv5m"), "camvid": ("cc-by-nc-4.0", "CamVid")}


def recipes() -> dict[str, list[str]]:
    """name -> the commands of its bash block in docs/recipes.md."""
    text = RECIPES.read_text(encoding="utf-8")
    found = re.findall(r"<!-- recipe: ([\w-]+) -->\s*```bash\n(.*?)```", text, re.S)
    return {name: [line for line in block.splitlines() if line.strip()] for name, block in found}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small(command: str, env: dict[str, str], runs: Path) -> list[str]:
    """A recipe command with its variables filled in, 2 CPU processes, no Hub push, and small settings."""
    args = [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], a) for a in shlex.split(command)]
    if "--push-to-hub" in args:
        i = args.index("--push-to-hub")
        del args[i:i + 2]
    if args[:2] == ["accelerate", "launch"]:
        module = args[args.index("-m") + 1]
        args = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()),
                *args[args.index("-m"):], "--runs-dir", str(runs), *RUN_FLAGS.split(), *SMALL[module].split()]
    elif args[0] == "python":
        args = [sys.executable, *args[1:], "--workers", "1", "--shard-rows", "8"]
    return args


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "",
            "ACCELERATE_CONFIG_FILE": "/nonexistent/accelerate.yaml"}


def with_rank_logs(args: list[str], logs: Path) -> list[str]:
    """An accelerate launch command whose launcher also writes each rank's stdout / stderr to files under `logs`
    (torch's launcher: --tee 3 --log_dir), so a failure can show every rank's own output."""
    i = args.index("-m", args.index("accelerate.commands.launch"))
    return [*args[:i], "--tee", "3", "--log_dir", str(logs), *args[i:]]


def run_output(done: subprocess.CompletedProcess, logs: Path) -> str:
    """A failed launch's output for the assertion message: the launcher's tail, then each rank's own stderr tail
    (its whole stderr up to 20,000 characters: a rank's abort at exit comes after the other rank's output)."""
    parts = [done.stdout[-3000:], done.stderr[-3000:]]
    for log in sorted(logs.glob("*/attempt_*/*/stderr.log")):
        parts.append(f"--- rank {log.parent.name} stderr ---\n" + log.read_text(errors="replace")[-20000:])
    return "\n".join(parts)


def kill_resume_export(args: list[str], cwd: Path, run: Path) -> None:
    """Start a run, SIGKILL it (the whole process group) once it has a checkpoint, then run it again to 4 steps."""
    log = open(cwd / f"{run.name}.log", "w")
    proc = subprocess.Popen(args, cwd=cwd, env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + KILL_AFTER_S
    while not (run / "state" / "latest").is_file():
        assert proc.poll() is None, (cwd / f"{run.name}.log").read_text()[-3000:]
        assert time.time() < deadline, f"{run.name}: no checkpoint within {KILL_AFTER_S} s"
        time.sleep(0.2)
    # every process of the run at once, as a scheduler or a lost node would (torch's launcher starts each rank in a
    # session of its own, so killing the launcher's process group alone would leave the ranks training on)
    family = [proc, *psutil.Process(proc.pid).children(recursive=True)]
    for p in family:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    psutil.wait_procs([psutil.Process(p.pid) for p in family[1:] if psutil.pid_exists(p.pid)], timeout=30)
    killed_at = (run / "state" / "latest").read_text().strip()
    logs = cwd / "rank_logs" / f"{run.name}_resumed"
    done = subprocess.run([*with_rank_logs(args, logs), "--steps", "4"], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, run_output(done, logs)
    config = json.loads((run / "config.json").read_text())
    assert config["resumed_from_step"] == int(killed_at.split("_")[1]) >= 2
    assert {p.name for p in (run / "export").iterdir()} == {"config.json", "model.safetensors", "README.md"}


@pytest.fixture(scope="module")
def data(tmp_path_factory, camvid_root) -> dict[str, str]:
    """Small data in each recipe's real format, by the recipes' variable names."""
    from streetgen import world
    from streetgen.data.fake_osv5m import write_fake
    from streetgen.data.paired import save_depth_mm

    root = tmp_path_factory.mktemp("recipes")
    write_fake(root / "raw", n=40, size=(512, 680), seed=4, countries=["FR", "JP", "KE"], per_shard=8, workers=1,
               splits={"train": 0.8, "test": 0.2})
    shutil.copytree(root / "raw" / "osv5m", root / "osv5m")  # without our dataset.json: read as OSV-5M itself
    (root / "osv5m" / "dataset.json").unlink(missing_ok=True)
    for city, folder in (("Paris", "city_a"), ("Venice", "city_b")):
        (root / folder).mkdir()
        for s in range(4):
            Image.fromarray(world.render_city(city, seed=s, size=64).image).save(root / folder / f"{s}.jpg")
    (root / "depth_images").mkdir()
    (root / "depth_maps").mkdir()
    for s in range(6):
        sample = world.render(48.85 + 0.01 * s, 2.35, seed=s, size=48)
        Image.fromarray(sample.image).save(root / "depth_images" / f"f{s}.png")
        save_depth_mm(np.asarray(sample.depth), root / "depth_maps" / f"f{s}.png")
    return {"OSV5M": str(root / "osv5m"), "CAMVID": str(camvid_root), "CITY_A": str(root / "city_a"),
            "CITY_B": str(root / "city_b"), "DEPTH_IMAGES": str(root / "depth_images"),
            "DEPTH_MAPS": str(root / "depth_maps"), "ORG": "org", "OSV5M_WDS": str(root / "raw" / "osv5m-wds")}


@pytest.fixture(scope="module")
def osv5m_cache(data, tmp_path_factory) -> Path:
    """The page's OSV-5M cache commands, run (train and the official val draw)."""
    work = tmp_path_factory.mktemp("work")
    for command in recipes()["osv5m-cache"]:
        done = subprocess.run(small(command, data, work), cwd=work, env=_env(), capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    meta = json.loads((work / "cache" / "osv5m_train128" / "meta.json").read_text())
    assert meta["dataset"] == "osv5m/osv5m" and len(meta["shards"]) >= 2
    assert (work / "cache" / "osv5m_val128" / "meta.json").is_file()
    return work


def test_the_page_has_every_seed_system():
    assert set(recipes()) == {"osv5m-cache", "s0", "sharp", "s1", "s2", "s3"}
    for name, commands in recipes().items():
        for command in commands:
            assert command.startswith(("python -m streetgen.data.",
                                       "accelerate launch --multi_gpu --num_processes 8 -m train.")), command


@pytest.mark.slow
@pytest.mark.parametrize("name", ["s0", "sharp", "s1"])
def test_an_osv5m_recipe_runs_resumes_and_names_its_data(name, data, osv5m_cache):
    (command,) = recipes()[name]
    args = small(command, data, osv5m_cache / "runs")
    run = osv5m_cache / "runs" / args[args.index("--name") + 1]
    kill_resume_export(args, osv5m_cache, run)
    card = (run / "export" / "README.md").read_text()
    assert all(word in card for word in LICENCE["osv5m"]), card[:1500]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["s2", "s3"])
def test_the_camvid_and_city_recipes_run_resume_and_name_their_data(name, data, tmp_path):
    for i, command in enumerate(recipes()[name]):
        args = small(command, data, tmp_path / "runs")
        run = tmp_path / "runs" / args[args.index("--name") + 1]
        if i == 0:  # the recipe's first run is killed and resumed; the others run straight to their export
            kill_resume_export(args, tmp_path, run)
        else:
            logs = tmp_path / "rank_logs" / run.name
            done = subprocess.run([*with_rank_logs(args, logs), "--steps", "2"], cwd=tmp_path, env=_env(),
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, run_output(done, logs)
        card = (run / "export" / "README.md").read_text()
        if name == "s2":
            assert all(word in card for word in LICENCE["camvid"]), card[:1500]
        else:
            assert "training data" in card and ("folder" in card or "photos" in card), card[:1500]
