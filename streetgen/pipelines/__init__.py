"""Pipelines: one object per capability, loaded from a checkpoint, called with one `__call__` (diffusers-style).

The app wires widgets to these; they hold no UI code and import torch lazily through their models.
"""
from .base import DEVICES, Pipeline, resolve_device
from .city import (STEADY, AnyCityPipeline, CycleGANPipeline, DepthRoutePipeline, LayoutRoutePipeline,
                   iter_translate_frames, load_city_pipeline, run_city, steady_frames,
                   translate_frames, translate_panorama)
from .country import CountryPipeline
from .layout import LayoutPipeline, SpadePipeline
from .map import MapPipeline

__all__ = ["Pipeline", "DEVICES", "resolve_device",
           "CountryPipeline", "CycleGANPipeline", "DepthRoutePipeline", "LayoutRoutePipeline",
           "AnyCityPipeline", "load_city_pipeline", "run_city", "STEADY", "steady_frames", "translate_frames",
           "iter_translate_frames", "translate_panorama", "MapPipeline", "LayoutPipeline", "SpadePipeline"]
