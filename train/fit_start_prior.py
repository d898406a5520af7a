"""Give an exported country diffusion model a start prior (see `CountryDiffusion.fit_start_prior`).

    python -m train.fit_start_prior checkpoints/country_diffusion --data data/world_prior111_128

New training runs fit the prior themselves (`--start-grid`, default 4); this is for models trained before it
existed. Only the prior's buffers and config.json's `start_grid` change: the network weights are copied as they
are, and the card gets a note with this command. The folder is rewritten in place (fp16 like the other shipped
checkpoints with --fp16).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch

import streetgen
from streetgen.data.shards import ShardedCache
from streetgen.models.card import read_card
from streetgen.models.country_diffusion import CountryDiffusion


def with_start_prior(model: CountryDiffusion, images, labels, grid: int = 4) -> CountryDiffusion:
    """A copy of `model` with start_grid=grid and its prior fitted on images (N, H, W, 3) uint8 / labels (N,)."""
    config = {**dict(model._hub_mixin_config or {}), "start_grid": grid}
    config.pop("architecture", None)
    fitted = CountryDiffusion(**config)
    missing, unexpected = fitted.load_state_dict(model.state_dict(), strict=False)
    if unexpected or set(missing) - {"start_mean", "start_chol"}:
        raise ValueError(f"weights do not fit the model: missing {missing}, unexpected {unexpected}")
    fitted.fit_start_prior(images, labels)
    return fitted.eval()


def main(argv: list[str] | None = None) -> Path:
    """CLI entry: fit the prior and rewrite the checkpoint folder in place; returns the folder."""
    p = argparse.ArgumentParser(prog="python -m train.fit_start_prior", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="exported country_diffusion checkpoint folder (rewritten in place)")
    p.add_argument("--data", required=True, help="image cache with country labels (python -m streetgen.data.cache)")
    p.add_argument("--grid", type=int, default=4, help="block grid of the prior (4: 4×4 block means)")
    p.add_argument("--fp16", action="store_true", help="write the weights as float16")
    args = p.parse_args(argv)
    folder = Path(args.folder)
    model = streetgen.load(folder)
    if not isinstance(model, CountryDiffusion):
        p.error(f"{folder} is not a country_diffusion checkpoint")
    cache = ShardedCache(args.data)
    if list(cache.countries) != list(model.countries):
        p.error(f"{args.data} labels {len(cache.countries)} countries, the model {len(model.countries)}: "
                "they must be the same list in the same order")
    fitted = with_start_prior(model, cache.images, cache.labels, args.grid)
    info = read_card(folder)
    command = "python -m train.fit_start_prior " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    info.notes = (info.notes + "\n\n" if info.notes else "") + (
        f"Start prior ({args.grid}×{args.grid} block means per country, pooled covariance) fitted afterwards on "
        f"{len(cache)} images of {args.data}: `{command}`.")
    fitted.save_pretrained(folder, card=info, dtype=torch.float16 if args.fp16 else None)
    print(f"{folder}: start prior fitted on {len(cache)} images (grid {args.grid})")
    return folder


if __name__ == "__main__":
    main()
