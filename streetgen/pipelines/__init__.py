"""Pipelines: one object per capability, loaded from a checkpoint, called with one `__call__` (diffusers-style).

The app wires widgets to these; they hold no UI code and import torch lazily through their models.
"""
from .country import CountryPipeline, save_gif
from .layout import LayoutPipeline, SpadePipeline
from .map import MapPipeline

__all__ = ["CountryPipeline", "save_gif", "MapPipeline", "LayoutPipeline", "SpadePipeline"]
