"""The diffusion sampling layer: networks only predict ε; these functions own the denoising loop and its guidance.

`sample_diffusion(model, labels, generator=…, **options)` is the entry point (`loop.py`); the scheduler
(`schedulers.py`), the guidance terms (`guidance.py`), the start of the chain (`start.py`) and the patch-grid
removal after it (`lattice.py`) are small functions it calls.
"""
from streetgen.sampling.loop import DiffusionOptions, sample_diffusion

__all__ = ["DiffusionOptions", "sample_diffusion"]
