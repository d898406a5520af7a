"""One place for the rules on user-given values: seeds, whole numbers in a range, image-size caps, echoed text.

The caps differ by purpose (reading a file is cheap, painting or translating every pixel is not), so each has its
own name here instead of five modules each defining a `MAX_SIDE`.
"""
from __future__ import annotations

import os

import numpy as np

# torch.Generator.manual_seed takes up to 2**64 - 1 and numpy any size; 2**63 - 1 also fits every int64 field
# (JSON clients, numpy arrays), so one bound serves all and a too-large seed fails here with a clear message
# instead of as "Overflow when unpacking long long" deep inside torch.
MAX_SEED = 2**63 - 1

MAX_READ_SIDE = 4096  # label maps, panorama faces and views read from files (larger ones are reduced or refused)
MAX_RENDER_SIDE = 2048  # a world render's side
MAX_PAINT_SIDE = 1024  # SPADE's output side: its cost grows with the pixel count (one call near ten seconds on a CPU)
MAX_TRANSLATE_SIDE = 512  # a photo's long side for City translation (one translation within a few seconds)
# Pixels an uploaded file may have before it is decoded at all: a 16000 × 8000 PNG of 400 KB decodes to 1.2 GB of
# memory that the process never gives back; 8192 × 4096 (a large panorama) is about 100 MB as RGB.
MAX_INPUT_PIXELS = 8192 * 4096
MAX_ECHO = 120  # characters of a user's value a message repeats (a 1 MB string used to come back whole)


def shown(value, limit: int = MAX_ECHO) -> str:
    """repr(value) shortened to about `limit` characters for an error message (the user's value is echoed so they
    see what was read, never so much that a huge input floods the message); paths are reduced to their file name."""
    if isinstance(value, os.PathLike):
        value = os.path.basename(os.fspath(value))
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 20]}… ({len(text):,} characters)"


def file_name(path) -> str:
    """The file name of a path, shortened, for messages: a server's folders are nobody's business."""
    return shown(os.path.basename(os.fspath(path)), 60).strip("'\"")


def check_seed(seed) -> int:
    """`seed` as an int, or a ValueError naming the rule (bools, floats and out-of-range values are refused)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {shown(seed)}")
    return int(seed)


def is_whole(value) -> bool:
    """True for Python and numpy integers, False for bools (a bool is an int in Python, never a count here)."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


def check_int(name: str, value, low: int, high: int) -> int:
    """`value` as an int if it is a whole number in [low, high], else a ValueError naming `name` and the range."""
    if not is_whole(value) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}, got {shown(value)}")
    return int(value)
