"""streetgen models: networks that only predict, each registered under the architecture name in its config.json.

The list below imports every architecture module once, so `load` finds a shipped model's class by name without
scanning files; a class defined outside the package registers when its own module is imported.
"""
from __future__ import annotations

from streetgen.models import (country_diffusion, country_guide, cvae, cyclegan, judges,  # noqa: F401 (registers)
                              layout_gan, map_gan, pix2pix, spade)
from streetgen.models.base import REGISTRY, StreetgenModel, architecture_class, export, load
from streetgen.models.card import ModelCardInfo

__all__ = ["REGISTRY", "StreetgenModel", "ModelCardInfo", "architecture_class", "export", "load"]
