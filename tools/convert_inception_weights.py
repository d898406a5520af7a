"""Convert torch-fidelity's TF-Inception weights (`weights-inception-2015-12-05-6726825d.pth`) to safetensors, once.

streetgen reads standard-FID weights only as safetensors (`python -m streetgen.eval … --inception-weights FILE`).
Get the official file yourself (torch-fidelity's v0.2.0 release assets; TensorFlow's 2015-12-05 Inception converted
by torch-fidelity, Apache-2.0), then:

    python tools/convert_inception_weights.py weights-inception-2015-12-05-6726825d.pth inception-2015-12-05.safetensors

The .pth is read with torch.load(weights_only=True), PyTorch's restricted loader (tensors and plain containers
only, no arbitrary objects). The result is checked by building torch-fidelity's extractor from it and running one
image; its SHA-256 is printed so a shared copy (a file or a Hub repo) can be compared with yours.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np


def convert(src: Path, dst: Path) -> int:
    """Write the state dict in `src` to `dst` as safetensors; returns the number of tensors."""
    import safetensors.torch
    import torch

    state = torch.load(src, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SystemExit(f"{src.name} does not hold a state dict of tensors")
    safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()}, str(dst),
                                metadata={"source": src.name, "format": "pt"})
    return len(state)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path, help="the official .pth file")
    p.add_argument("dst", type=Path, help="the .safetensors file to write")
    args = p.parse_args(argv)
    if args.dst.suffix != ".safetensors":
        p.error("the output must end in .safetensors (streetgen reads that format only)")
    count = convert(args.src, args.dst)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from streetgen.eval.fid import inception_features

    features = inception_features(args.dst, np.zeros((1, 64, 64, 3), np.uint8))  # builds the extractor: keys match
    digest = hashlib.sha256(args.dst.read_bytes()).hexdigest()
    print(f"wrote {args.dst} ({count} tensors; features {features.shape[1]}-d; sha256 {digest})")


if __name__ == "__main__":
    main()
