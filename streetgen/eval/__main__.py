"""`python -m streetgen.eval`: judge generated street images against what was asked for.

    python -m streetgen.eval --task country --model world --n 8 --out runs/eval/country_world
    python -m streetgen.eval --task country --model world-shuffled       # sanity: conditions shuffled → chance
    python -m streetgen.eval --task country --model country_diffusion --n 12 --device cuda --batch 256
    python -m streetgen.eval --task map --model world
    python -m streetgen.eval --task layout --model world
    python -m streetgen.eval --task city --model cyclegan_paris_venice     # see streetgen/eval/city.py
    python -m streetgen.eval --task judge --judge seg=judges/seg --data camvid:ROOT --split val   # see eval/real.py

A *model* is something that answers the task's request: `world` answers with real renders (the reference every
generator is compared with), `world-shuffled` with real renders of the wrong condition (a sanity floor), and
generator checkpoints are loaded by name. `--task judge` scores a judge itself on labelled real photos
(`--judge KIND=SOURCE`, a streetgen checkpoint or a transformers model, local or on the Hub). Writes `metrics.json`, `metrics.md` (the table,
what each number means, the judges and their real-photo numbers) and `sheet.png` (generated | reference) to --out.
Distances are computed on the place judge's features and named as such (`judge_frechet_distance`,
`judge_kernel_distance`): they are not comparable with published FIDs. The standard `fid` / `kid` are added when
--inception-weights gives torch-fidelity's TF-Inception weights as safetensors (a file, a folder holding one, or
`org/repo[@rev]`; `tools/convert_inception_weights.py` converts the official file; nothing is ever downloaded).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from streetgen.eval.city import eval_city
from streetgen.eval.common import GENERATORS, JUDGE_EVAL_SEED, is_checkpoint, to_markdown
from streetgen.eval.country import eval_country
from streetgen.eval.layout import eval_layout
from streetgen.eval.map import eval_map

CHECKPOINT_HINTS = {"country": " or a country checkpoint such as 'cvae'",
                    "map": " or a map checkpoint such as 'map_gan'",
                    "layout": " or a SPADE / layout-GAN / country diffusion checkpoint such as 'spade_world'",
                    "city": " or a CycleGAN / pix2pix / country diffusion checkpoint, or 'to_depth+to_photo'"}


def build_parser() -> argparse.ArgumentParser:
    """The command line: one argument per option, grouped by the task that reads it."""
    p = argparse.ArgumentParser(prog="python -m streetgen.eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=["country", "map", "layout", "city", "judge"])
    p.add_argument("--model", default="world", help="world | world-shuffled | a registered generator")
    p.add_argument("--n", type=int, default=None, help="images per condition (country) / per point (map) / total "
                                                       "(layout, city); default 4; judge task: a random n (0 = all)")
    p.add_argument("--points", type=int, default=100, help="map task: number of requested points")
    p.add_argument("--countries", type=int, default=0, help="country task: only the first N judge countries")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--seed", type=int, default=JUDGE_EVAL_SEED,
                   help="country task: the k-th image of each country comes from seed*1000+k (references unchanged)")
    p.add_argument("--place-judge", default="judges/place")
    p.add_argument("--segmenter", default="judges/seg")
    p.add_argument("--depth-judge", default="judges/depth",
                   help="layout and city tasks: '' to skip the depth errors")
    p.add_argument("--data", default="world", help="layout task: 'world' or 'camvid:ROOT' (CamVid val pairs); "
                                                   "judge task: camvid:ROOT, osv5m:ROOT, cities:ROOT, depth:ROOT or "
                                                   "world (unseen renders)")
    p.add_argument("--judge", default="", help="judge task: KIND=SOURCE, KIND one of place, city, seg, depth; SOURCE "
                                               "a checkpoint folder, a shipped name or a Hub id[@revision]")
    p.add_argument("--split", default="val", help="judge task, camvid/osv5m data: the split (train, val, test)")
    p.add_argument("--depth-encoding", default="mm", help="judge task, depth data: how depth files store metres "
                                                          "(mm, npy, kitti_depth)")
    p.add_argument("--max-depth", type=float, default=80.0, help="judge task, depth data: pixels farther are skipped")
    p.add_argument("--layout-size", default="128x256", help="layout task, world data: HxW of the layouts "
                                                            "(a country diffusion model sets its own square size)")
    p.add_argument("--painter", default="", help="layout task, layout-GAN models: the SPADE checkpoint that paints "
                                                 "the generated maps (default spade_world, or spade_camvid on CamVid)")
    p.add_argument("--source", default=None, help="city task: source city (models trained on a pair know theirs)")
    p.add_argument("--target", default=None, help="city task: target city (any-city and 'world' need it)")
    p.add_argument("--strength", type=float, default=0.2, help="city task, any-city (diffusion): SDEdit strength")
    p.add_argument("--city-judge", default="judges/city")
    p.add_argument("--frames", type=int, default=0,
                   help="city task: also measure temporal stability on n // FRAMES turning-camera videos")
    p.add_argument("--inception-weights", default="", help="torch-fidelity's TF-Inception weights as safetensors "
                                                             "(file, folder or org/repo[@rev]): adds fid / kid")
    p.add_argument("--sample", default="{}", help='country checkpoints: sampler options as JSON, e.g. '
                                                    '\'{"steps": 10, "guidance": 2.0}\'')
    p.add_argument("--device", default="cpu", help="country task: where checkpoints generate (cpu, cuda)")
    p.add_argument("--batch", type=int, default=0, help="country task: requests per model call "
                                                     "(0: 8 on a CPU, 256 on a GPU)")
    p.add_argument("--out", default="")
    p.add_argument("--card", action="store_true", help="also record the command and numbers in the model's card "
                                                       "(local checkpoint folders; every model of an 'A+B' route; "
                                                       "judge task: the judge's card, with real_* metric values)")
    return p


def parse_size(text: str, parser: argparse.ArgumentParser) -> tuple[int, int]:
    """--layout-size "HxW" as (h, w), multiples of 32; a parser error otherwise."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
        if h < 32 or w < 32 or h % 32 or w % 32:
            raise ValueError
    except ValueError:
        parser.error(f"--layout-size must be HxW with multiples of 32 (e.g. 128x256), got {text!r}")
    return h, w


def check_args(args: argparse.Namespace, p: argparse.ArgumentParser) -> dict:
    """Refuse bad options before anything loads; returns the sampler options of --sample."""
    try:
        options = json.loads(args.sample)
        if not isinstance(options, dict):
            raise ValueError("not an object")
    except ValueError as err:
        p.error(f"--sample must be a JSON object, got {args.sample!r} ({err})")
    if args.n is None:
        args.n = 0 if args.task == "judge" else 4
    if args.task == "judge":
        if not args.judge:
            p.error("--task judge needs --judge KIND=SOURCE (and --data KIND:ROOT for labelled real photos)")
        return options
    if args.judge and args.task in ("country", "map"):
        p.error(f"--judge is for the layout and city tasks (seg=SOURCE) and --task judge; the {args.task} task "
                "scores with its place judge's features (--place-judge)")
    if args.batch < 0:
        p.error(f"--batch must be at least 1 (or 0 for the device's default), got {args.batch}")
    if args.model not in GENERATORS[args.task] and not all(is_checkpoint(m) for m in args.model.split("+")):
        p.error(f"unknown model {args.model!r} for task {args.task}; available: {', '.join(GENERATORS[args.task])}"
                + CHECKPOINT_HINTS.get(args.task, ""))
    return options


def task_segmenter(args: argparse.Namespace, p: argparse.ArgumentParser):
    """The layout and city tasks' segmenter: --segmenter, or --judge seg=SOURCE (any seg judge) in its place."""
    import streetgen
    from streetgen.eval.judges import load_judge, parse_judge_spec

    if args.task not in ("layout", "city"):
        return None
    if not args.judge:
        return streetgen.load(args.segmenter)
    try:
        kind, source = parse_judge_spec(args.judge)
        if kind != "seg":
            raise ValueError(f"the {args.task} task takes --judge seg=SOURCE (its segmenter), not {kind}; "
                             "score other judges on real photos with --task judge")
        return load_judge(kind, source, device=args.device)
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))


def run_task(args: argparse.Namespace, options: dict, p: argparse.ArgumentParser) -> dict:
    """The metrics of the asked task, with the judges it needs loaded."""
    import streetgen

    if args.task == "judge":
        from streetgen.eval.judges import load_judge, parse_judge_spec
        from streetgen.eval.real import eval_judge

        try:
            judge = load_judge(*parse_judge_spec(args.judge), device=args.device)
            return eval_judge(judge, args.data, args.split, args.n, args.size, args.seed,
                              args.depth_encoding, args.max_depth)
        except (ValueError, FileNotFoundError) as err:
            p.error(str(err))
    segmenter = task_segmenter(args, p)
    if args.task == "city":
        depth = streetgen.load(args.depth_judge) if args.depth_judge else None
        try:
            return eval_city(args.model, args.n, args.size, streetgen.load(args.city_judge), segmenter, depth,
                             args.source, args.target, args.strength, args.frames)
        except ValueError as err:
            p.error(str(err))
    if args.task == "layout":
        return eval_layout(args.model, args.n, segmenter, streetgen.load(args.place_judge),
                           streetgen.load(args.depth_judge) if args.depth_judge else None, args.data, args.painter, args.inception_weights or None,
                           parse_size(args.layout_size, p))
    judge = streetgen.load(args.place_judge)
    if args.task == "country":
        return eval_country(args.model, args.n, args.size, args.countries or None, judge,
                            args.inception_weights or None, options, args.seed, args.device, args.batch or None)
    return eval_map(args.model, args.points, args.n, args.size, judge)


def record_in_cards(model: str, command: str, metrics: dict, headline: dict | None = None) -> None:
    """--card: add the command and numbers to each local checkpoint folder's card (Hub caches are left alone)."""
    from streetgen.hub import default_checkpoints_root
    from streetgen.models.card import add_evaluation

    for name in model.split("+"):
        folder = next((f for f in (Path(name).expanduser(), default_checkpoints_root() / name)
                       if (f / "config.json").is_file()), None)
        if folder is None:
            print(f"--card: {name} is not a local checkpoint folder; its card is left alone", file=sys.stderr)
        else:
            print(f"recorded in {add_evaluation(folder, command, metrics, headline)}")


def real_headline(args: argparse.Namespace, metrics: dict) -> dict[str, float]:
    """A judge's scores as card metric values: real_<data>_<split>_<metric> on real photos, render_<metric> on
    world renders (scalars only), so its card shows both side by side."""
    kind = args.data.split(":")[0]
    where = {"world": "render", "camvid": f"real_camvid_{args.split}", "osv5m": f"real_osv5m_{args.split}"}
    prefix = where.get(kind, f"real_{kind}")
    return {f"{prefix}_{k}": round(float(v), 4) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("seconds", "n_images")}


def main(argv: list[str] | None = None) -> dict:
    """Run one evaluation from the command line; writes metrics.json and metrics.md and returns the metrics."""
    from streetgen.eval.common import collect_examples
    from streetgen.eval.report import judges_used, write_report

    p = build_parser()
    args = p.parse_args(argv)
    options = check_args(args, p)
    t0 = time.time()
    with collect_examples() as examples:
        metrics = run_task(args, options, p)
    metrics["seconds"] = round(time.time() - t0, 1)
    subject = args.judge if args.task == "judge" else args.model  # what was scored: a judge, or a generator
    name = args.judge.split("=")[0] if args.task == "judge" else args.model.replace("+", "_")
    out = Path(args.out or f"runs/eval/{args.task}_{name}")
    out.mkdir(parents=True, exist_ok=True)
    head = {"task": args.task, "judge_spec" if args.task == "judge" else "model": subject, "sample": options}
    (out / "metrics.json").write_text(json.dumps({**head, **metrics}, indent=2))
    write_report(out, args.task, subject, metrics, judges_used(args.task, args, metrics), examples)
    print(to_markdown(args.task, subject, metrics))
    if args.card and (args.task == "judge" or args.model not in GENERATORS[args.task]):
        command = "python -m streetgen.eval " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None
                                                                                   else argv))
        if args.task == "judge":  # the judge's own card learns how it does on real photos
            record_in_cards(args.judge.split("=", 1)[1], command, metrics, real_headline(args, metrics))
        else:
            record_in_cards(args.model, command, metrics)
    return metrics


if __name__ == "__main__":
    main()
