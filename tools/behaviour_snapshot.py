"""Hash what every pipeline, API endpoint and command line gives for fixed seeds, to check a refactor bit for bit.

    python tools/behaviour_snapshot.py --out before.json            # on the old tree
    python tools/behaviour_snapshot.py --out after.json --compare before.json

Only public entry points are called (pipelines by checkpoint name, the app through gradio_client, the CLIs as
subprocesses), so the same script runs on both sides of a restructure. Images are hashed by their decoded pixels
(PNG/GIF bytes can differ with encoder settings while the pictures do not); numbers are rounded to 6 digits.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def _file_digest(path: str, h) -> None:
    if str(path).lower().endswith(IMAGE_SUFFIXES):
        with Image.open(path) as img:
            for k in range(getattr(img, "n_frames", 1)):
                img.seek(k)
                _digest(np.asarray(img.convert("RGB")), h)
    elif str(path).lower().endswith(".npy"):
        _digest(np.load(path, allow_pickle=False), h)
    else:
        h.update(Path(path).read_bytes())


def _digest(value, h) -> None:
    """Feed a canonical form of `value` into the hash (arrays by dtype/shape/bytes, files by content)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, Image.Image):
        value = np.asarray(value.convert("RGB"))
    if isinstance(value, np.ndarray):
        h.update(f"{value.dtype}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _digest(dataclasses.asdict(value), h)
    elif isinstance(value, dict):
        for k in sorted(value, key=str):
            if k in ("url", "orig_name", "size", "mime_type", "meta", "is_stream"):
                continue
            h.update(str(k).encode())
            _digest(value[k], h)
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for v in value:
            _digest(v, h)
        h.update(b"]")
    elif isinstance(value, float):
        h.update(f"{value:.6g}".encode())
    elif isinstance(value, str) and os.path.isfile(value) and (os.sep in value):
        _file_digest(value, h)
    else:
        h.update(repr(value).encode())


def _without_out(path: Path) -> str:
    data = json.loads(path.read_text())
    data.get("spec", {}).pop("out", None)
    return json.dumps(data, sort_keys=True)


def digest(value) -> str:
    h = hashlib.sha256()
    _digest(value, h)
    return h.hexdigest()[:16]


def pipelines(record) -> None:
    """Every pipeline with fixed seeds, through the public names in the README."""
    from streetgen import world
    from streetgen.pipelines import (CountryPipeline, LayoutPipeline, MapPipeline, SpadePipeline,
                                     load_city_pipeline, run_city, translate_frames, translate_panorama)

    for spec in ("cvae", "country_diffusion", "country_diffusion+country_diffusion_early"):
        pipe = CountryPipeline.from_pretrained(spec)
        record(f"country[{spec}](JP,n=2,seed=3)", pipe("JP", n=2, seed=3))
        record(f"country[{spec}](KE,n=1,seed=7,mix=NO.4)", pipe("KE", n=1, seed=7, mix=("NO", 0.4)))
        record(f"country[{spec}].batched", pipe.batched([("JP", 1), ("BR", 2), ("US", 5)], batch=2))
        record(f"country[{spec}].morph", pipe.morph("JP", "NO", frames=3, seed=2))
    diff = CountryPipeline.from_pretrained("country_diffusion")
    for opts in ({"guidance": 4.0}, {"solver": "dpm"}, {"solver": "sde-dpm"}, {"start_spread": 1.0},
                 {"degrid": False}, {"start_prior": False}, {"seed_low_grid": 0}, {"steps": 5},
                 {"guidance_interval": (0.0, 1.0)}):
        record(f"country[country_diffusion]{opts}", diff("FR", n=2, seed=11, **opts))
    import torch

    from streetgen.models.country_guide import CountryGuide

    torch.manual_seed(0)  # no guide is shipped: a random-weight one of the real architecture exercises the path
    m = diff.model
    guide = CountryGuide(countries=list(m.countries), image_size=m.image_size, patch_size=m.patch_size,
                         noise_shift=m.noise_shift, num_train_timesteps=m.num_train_timesteps)
    with tempfile.TemporaryDirectory() as tmp:
        guide.save_pretrained(tmp)
        guided = CountryPipeline.from_pretrained("country_diffusion+" + tmp)
        record("country[guide].guide_scale=2", guided("IN", n=1, seed=4, guide_scale=2.0))
    auto = CountryPipeline.from_pretrained("country_diffusion+country_diffusion_early")
    record("country[auto].autoguide_scale=6", auto("IN", n=1, seed=4, autoguide_scale=6.0))
    record("country[auto].morph_sde", auto.morph("FR", "EG", frames=3, seed=5, solver="sde-dpm"))

    maps = MapPipeline.from_pretrained("map_gan")
    record("map(35.68,139.77,n=2,seed=1)", maps(35.68, 139.77, n=2, seed=1))
    record("map.journey", maps.journey((35.68, 139.77), (59.9, 10.75), frames=3, seed=2))
    for name in ("layout_world", "layout_camvid"):
        record(f"layout[{name}](n=2,seed=1)", LayoutPipeline.from_pretrained(name)(n=2, seed=1))
    layout = LayoutPipeline.from_pretrained("layout_world")(n=1, seed=5)[0]
    for name in ("spade_world", "spade_camvid", "spade_cities"):
        spade = SpadePipeline.from_pretrained(name)
        record(f"spade[{name}](seed=3)", spade(layout, seed=3))
    record("spade[spade_world](style=nordic,fill)", SpadePipeline.from_pretrained("spade_world")(
        layout, seed=3, style="nordic", fill=True))

    photo = world.render_city("Paris", seed=1, size=(96, 128)).image
    for spec, target in (("cyclegan_paris_venice", None), ("cyclegan_manhattan_paris", None),
                         ("pix2pix_depth_paris+pix2pix_photo_venice", None),
                         ("street_segmenter+spade_cities", "Tokyo"), ("country_diffusion", "Venice")):
        pipe = load_city_pipeline(spec)
        record(f"city[{spec}]", run_city(pipe, photo, target=target, strength=0.2, seed=3))
    pan = world.render_pan("Paris", seed=0, size=64, frames=3)
    frames = [f.image for f in pan] if hasattr(pan[0], "image") else list(pan)
    cyc = load_city_pipeline("cyclegan_paris_venice")
    record("city.translate_frames", translate_frames(lambda im, seed=0: run_city(cyc, im, seed=seed)[0], frames,
                                                     seed=1))
    pano = world.render_panorama(48.85, 2.35, seed=0, height=64)
    record("city.translate_panorama", translate_panorama(lambda im, seed=0: run_city(cyc, im, seed=seed)[0],
                                                         pano.image, seed=1))


def endpoints(record) -> None:
    """Every named API endpoint of the app, through gradio_client as a script would call it."""
    import app
    from gradio_client import Client, handle_file

    _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **app.LAUNCH_KWARGS)
    try:
        c = Client(url, verbose=False)

        def call(name, *args):
            # files sent are named by their base name in the key: their temporary folders differ between runs
            shown = tuple(Path(a["path"]).name if isinstance(a, dict) and "path" in a else a for a in args)
            key = f"api{name}{shown!r}"[:160]
            try:
                record(key, c.predict(*args, api_name=name))
            except Exception as err:  # an error message is behaviour too
                record(key, f"ERROR {type(err).__name__}: {err}")

        call("/render_world", "JP", 0, "128x256", 2)
        call("/render_world", "Venice", 3, "128", 1)
        call("/render_world", "Atlantis", 3, "128", 1)
        for model in ("CVAE (fast, the study's baseline)", "Diffusion (sharp, a few seconds)"):
            call("/generate_country", "JP", 2, 5, model, 12.0)
            call("/compare_countries", "JP", "NO", 1, 5, model, 8.0)
        call("/morph_countries", "JP", "NO", 5, "CVAE (fast, the study's baseline)", 12.0)
        call("/generate_country", "Narnia", 2, 5, "CVAE (fast, the study's baseline)", 12.0)
        call("/generate_map", 35.6812, 139.7671, 2, 1)
        call("/generate_map", 0.0, -30.0, 2, 1)
        call("/map_journey", 35.6812, 139.7671, 59.9139, 10.7522, 1)
        call("/map_click", 300.0, 200.0)
        call("/describe_place", 48.85, 2.35)
        call("/describe_place", 95.0, 2.35)
        for model in ("World (any country style)", "CamVid (real Cambridge photos, non-commercial)"):
            call("/new_layout", 4, model)
        editor = c.predict(4, "World (any country style)", api_name="/new_layout")
        call("/layout_to_photo", editor, "World (any country style)", "nordic", 2, True)
        with tempfile.TemporaryDirectory() as tmp:
            from streetgen import world

            s = world.render_city("Paris", seed=2, size=(96, 128))
            Image.fromarray(s.labels).save(f"{tmp}/ids.png")
            Image.fromarray(s.image).save(f"{tmp}/photo.png")
            call("/load_layout", handle_file(f"{tmp}/ids.png"))
            call("/load_layout", handle_file(f"{tmp}/photo.png"))
            Path(f"{tmp}/bad.png").write_bytes(b"not a png")
            call("/load_layout", handle_file(f"{tmp}/bad.png"))
            call("/city_example", "Paris", 1)
            example = c.predict("Paris", 1, api_name="/city_example")
            for method in ("CycleGAN: Paris → Venice", "Depth route: Paris depth → Venice photo",
                           "Layout route: any photo → a famous city (segment, then paint)",
                           "Any city or country (diffusion)"):
                call("/translate_city", handle_file(example), method, "Tokyo", 0.2, 3)
            call("/translate_city", handle_file(f"{tmp}/bad.png"), "CycleGAN: Paris → Venice", "Venice", 0.2, 3)
            call("/city_pan_example", "Paris", 0)
            pan = c.predict("Paris", 0, api_name="/city_pan_example")
            call("/translate_city_frames", handle_file(pan), "CycleGAN: Paris → Venice", "Venice", 0.2, 1, True)
            call("/city_panorama_example", "Paris", 0)
            pano = c.predict("Paris", 0, api_name="/city_panorama_example")
            call("/translate_city_panorama", handle_file(pano), "CycleGAN: Paris → Venice", "Venice", 0.2, 1)
    finally:
        app.demo.close()


def clis(record) -> None:
    """The command lines in the README, run as subprocesses; their output files hashed."""
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)

        def run(name, *args, outputs=()):
            proc = subprocess.run([py, *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
            record(f"cli[{name}].rc", proc.returncode)
            for out in outputs:
                files = sorted(p for p in Path(out).rglob("*") if p.is_file()) if Path(out).is_dir() else [out]
                # dataset.json records the (temporary) output folder itself: skip that one line of it
                record(f"cli[{name}]:{Path(out).name}",
                       [(str(p.relative_to(out)) if Path(out).is_dir() else p.name,
                         _without_out(p) if p.name == "dataset.json" else str(p)) for p in map(Path, files)])

        run("country_grid", "-m", "streetgen.pipelines.country", "--model", "cvae", "--countries", "JP,NO",
            "--n", "2", "--out", str(t / "grid.png"), outputs=[str(t / "grid.png")])
        run("world_grid", "-m", "streetgen.world", "grid", "--countries", "NO,JP", "--size", "64", "--out",
            str(t / "wgrid.png"), outputs=[str(t / "wgrid.png")])
        run("world_dataset", "-m", "streetgen.world", "dataset", "--out", str(t / "ds"), "--n", "6", "--size", "32",
            "--countries", "FR,JP", outputs=[str(t / "ds")])
        from streetgen import world

        (t / "in").mkdir()
        Image.fromarray(world.render_city("Paris", seed=4, size=64).image).save(t / "in" / "a.png")
        run("translate_depth", "-m", "streetgen.translate", "--model", "pix2pix_depth_paris+pix2pix_photo_venice",
            str(t / "in"), "--out", str(t / "tr"), outputs=[str(t / "tr")])
        run("translate_layout", "-m", "streetgen.translate", "--model", "street_segmenter+spade_cities", "--target",
            "Tokyo", str(t / "in"), "--out", str(t / "tl"), outputs=[str(t / "tl")])
        for task, extra in (("country", ["--model", "cvae", "--n", "1", "--countries", "4"]),
                            ("map", ["--model", "map_gan", "--points", "3", "--n", "1"]),
                            ("layout", ["--model", "spade_world", "--n", "4"]),
                            ("city", ["--model", "cyclegan_paris_venice", "--n", "2"])):
            out = t / f"eval_{task}"
            run(f"eval_{task}", "-m", "streetgen.eval", "--task", task, *extra, "--out", str(out))
            metrics = out / "metrics.json"
            if metrics.exists():
                data = json.loads(metrics.read_text())
                data.pop("seconds", None)
                data.pop("wall_s", None)
                record(f"cli[eval_{task}].metrics", {k: v for k, v in data.items() if "time" not in k})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--compare", default="", help="a previous snapshot: print every key whose hash differs")
    p.add_argument("--only", default="pipelines,endpoints,clis")
    args = p.parse_args()
    result: dict[str, str] = {}

    def record(key, value):
        result[key] = digest(value)
        print(f"{result[key]}  {key}", flush=True)

    import torch

    torch.set_num_threads(2)
    for part in args.only.split(","):
        {"pipelines": pipelines, "endpoints": endpoints, "clis": clis}[part](record)
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        differ = [k for k in before if result.get(k) != before[k]]
        print(f"compared {len(before)}: {len(before) - len(differ)} equal, {len(differ)} differ")
        for k in differ:
            print(f"  DIFFERS {k}: {before[k]} -> {result.get(k)}")


if __name__ == "__main__":
    main()
