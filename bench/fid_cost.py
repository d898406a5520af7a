"""What a standard FID/KID costs (streetgen.eval.fid): TF-Inception features per second, and the time of
torch-fidelity's 2048-d FID statistics and KID for N images per side.

    python bench/fid_cost.py --weights inception.safetensors --n 256 --size 128 [--device cuda]

Any weights file of the right architecture gives the same timings (the values do not change the work).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streetgen.eval.fid import fid_from_features, inception_features, kid_from_features  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="a safetensors file of torch-fidelity's Inception state dict")
    p.add_argument("--n", type=int, default=64, help="images per side")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    import torch

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2 * args.n, args.size, args.size, 3), dtype=np.uint8)
    t = time.perf_counter()
    inception_features(args.weights, images[:1], device=args.device)  # builds the extractor once
    build = time.perf_counter() - t
    t = time.perf_counter()
    feats = inception_features(args.weights, images, batch=args.batch, device=args.device)
    features_s = time.perf_counter() - t
    t = time.perf_counter()
    fid_from_features(feats[:args.n], feats[args.n:])
    fid_s = time.perf_counter() - t
    t = time.perf_counter()
    kid_from_features(feats[:args.n], feats[args.n:])
    kid_s = time.perf_counter() - t
    where = f"CPU ({torch.get_num_threads()} threads)" if args.device == "cpu" else torch.cuda.get_device_name()
    print(f"fid cost on {where}, {args.n} + {args.n} images at {args.size}²: extractor build {build:.1f} s; features "
          f"{2 * args.n / features_s:.1f} images/s; FID statistics {fid_s:.1f} s; KID {kid_s:.1f} s")


if __name__ == "__main__":
    main()
