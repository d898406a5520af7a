"""Pipelines: one object per capability, loaded from a checkpoint, called with one `__call__` (diffusers-style).

The app wires widgets to these; they hold no UI code and import torch lazily through their models.
"""
from .city import (STEADY, AnyCityPipeline, CycleGANPipeline, DepthRoutePipeline, LayoutRoutePipeline,
                   load_city_pipeline, read_frames, read_photo, run_city, steady_frames, translate_frames,
                   translate_panorama)
from .country import CountryPipeline, save_gif
from .layout import LayoutPipeline, SpadePipeline
from .map import MapPipeline

__all__ = ["CountryPipeline", "save_gif", "CycleGANPipeline", "DepthRoutePipeline", "LayoutRoutePipeline",
           "AnyCityPipeline", "read_photo",
           "read_frames", "load_city_pipeline", "run_city", "STEADY", "steady_frames", "translate_frames",
           "translate_panorama", "MapPipeline", "LayoutPipeline", "SpadePipeline"]
