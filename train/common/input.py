"""The training input pipeline: batches of cache rows read ahead by DataLoader workers, in exactly the order the
run's resumable sampler gives, so a resumed run sees the same batches as an uninterrupted one.

    batches = CacheBatches(cache, sampler, device=trainer.device, num_workers=4)   # after trainer.start()
    for step in ...:
        rows, images = batches.next()      # sorted cache rows, uint8 (B, H, W, 3) on the device
    batches.close()

The sampler the Trainer checkpoints advances only when the loop takes a batch; the workers draw from a copy of it
taken at the start, so read-ahead never moves the checkpointed position. When the whole cache fits the device's
memory budget (`place_on_device`), rows are indexed from one copy on the device and no workers are used.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import torch

DEVICE_SHARE = 0.5  # of the GPU's free memory a cache may take when no limit is given (the model needs the rest)


class IndexSampler(Protocol):
    """What the Trainer's samplers offer: the next step's indices, and a checkpointable state."""

    def next(self) -> Any: ...
    def state_dict(self) -> dict: ...


def cache_images(source: Any) -> Any:
    """The (N, H, W, 3) uint8 rows of a cache object (its `images`) or of an array given directly."""
    return getattr(source, "images", source)


def read_rows(source: Any, rows: np.ndarray) -> torch.Tensor:
    """uint8 (B, H, W, 3) tensor of sorted cache rows (a cache's own `read` when it has one, e.g. a sharded cache
    reading each shard's part; else fancy indexing into its images)."""
    reader = getattr(source, "read", None)
    block = reader(rows) if callable(reader) else cache_images(source)[rows]
    return torch.from_numpy(np.ascontiguousarray(block))


def place_on_device(nbytes: int, device: torch.device, limit_gb: float = 0.0) -> tuple[bool, str]:
    """Whether a cache of `nbytes` should be copied whole onto `device`, and why (for the log). Only a CUDA device
    takes a copy: within `limit_gb` when given (> 0), else within DEVICE_SHARE of its free memory. On the CPU the
    memory map is read in place (a copy would only double the RAM used)."""
    size = f"{nbytes / 2**30:.2f} GiB"
    if device.type != "cuda":
        return False, f"cache of {size} read from its memory map ({device.type})"
    if limit_gb > 0:
        budget, what = limit_gb * 2**30, f"the --device-cache-gb limit of {limit_gb:g} GiB"
    else:
        free, _ = torch.cuda.mem_get_info(device)
        budget, what = DEVICE_SHARE * free, f"{DEVICE_SHARE:.0%} of the {free / 2**30:.1f} GiB free on {device}"
    if nbytes <= budget:
        return True, f"cache of {size} copied whole to {device} (within {what})"
    return False, f"cache of {size} read by DataLoader workers: larger than {what}"


def copy_to(images: Any, device: torch.device, chunk: int = 4096) -> torch.Tensor:
    """One tensor on `device` holding all of `images` (N, H, W, 3) uint8, copied a chunk of rows at a time (the
    host never holds a second whole copy of a memory-mapped cache)."""
    out = torch.empty(tuple(images.shape), dtype=torch.uint8, device=device)
    for start in range(0, len(images), chunk):
        out[start:start + chunk].copy_(torch.from_numpy(np.array(images[start:start + chunk])))
    return out


class _Rows(torch.utils.data.Dataset):
    """Map-style dataset whose items are whole batches: rows (sorted int64) → (rows, uint8 images)."""

    def __init__(self, source: Any):
        self.source = source  # a cache object pickles without its memory map (each worker maps the file itself)

    def __len__(self) -> int:
        return len(cache_images(self.source))

    def __getitem__(self, rows: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        return rows, read_rows(self.source, rows)


class _Ahead(torch.utils.data.Sampler):
    """The batches a sampler copy gives from its current position on, endlessly, as sorted cache rows."""

    def __init__(self, sampler: IndexSampler, rows: np.ndarray | None):
        self.sampler, self.rows = sampler, rows

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            yield sorted_rows(self.sampler.next(), self.rows)


def sorted_rows(indices: Any, rows: np.ndarray | None = None) -> np.ndarray:
    """A sampler's indices sorted (memory maps read faster in order), mapped through `rows` when the sampler
    counts a subset of the cache (e.g. the training split)."""
    idx = np.sort(np.asarray(indices, dtype=np.int64))
    return idx if rows is None else np.asarray(rows)[idx]


class CacheBatches:
    """Per-step batches of a cache in the order of `sampler` (which the Trainer tracks and checkpoints)."""

    def __init__(self, source: Any, sampler: IndexSampler, *, device: torch.device, rows: np.ndarray | None = None,
                 num_workers: int = 0, prefetch: int = 2, on_device: bool = False):
        """`source`: a cache (its `images`, or `read(rows)`) or an (N, H, W, 3) uint8 array; `rows`: the cache rows
        the sampler's indices stand for (None: index = row); `num_workers`: DataLoader processes reading ahead (0:
        read in the loop); `prefetch`: batches each worker keeps ready; `on_device`: index one copy of the whole
        cache on `device` instead (see `place_on_device`)."""
        self.source, self.sampler, self.device, self.rows = source, sampler, torch.device(device), rows
        self._copy: torch.Tensor | None = None
        self._it: Iterator | None = None
        if on_device:
            self._copy = copy_to(cache_images(source), self.device)
        elif num_workers > 0:
            loader = torch.utils.data.DataLoader(
                _Rows(source), sampler=_Ahead(copy.deepcopy(sampler), rows), batch_size=None,
                num_workers=num_workers, prefetch_factor=prefetch, pin_memory=self.device.type == "cuda",
                persistent_workers=False,
                generator=torch.Generator().manual_seed(0))  # workers' seeds not drawn from the run's RNG
            self._it = iter(loader)

    @property
    def on_device(self) -> bool:
        """Whether batches are indexed from a copy of the whole cache on the device."""
        return self._copy is not None

    def next(self) -> tuple[np.ndarray, torch.Tensor]:
        """(sorted cache rows, uint8 (B, H, W, 3) images on the device) of the next step; advances the sampler."""
        rows = sorted_rows(self.sampler.next(), self.rows)
        if self._copy is not None:
            return rows, self._copy[torch.from_numpy(rows).to(self.device)]
        if self._it is None:
            return rows, read_rows(self.source, rows).to(self.device)
        got, images = next(self._it)
        if not np.array_equal(np.asarray(got), rows):  # the workers' copy and the tracked sampler disagree
            raise RuntimeError("the input pipeline fell out of step with the run's sampler; was the sampler "
                               "advanced outside CacheBatches.next()?")
        return rows, images.to(self.device, non_blocking=True)

    def close(self) -> None:
        """Stop the workers (also when the object is dropped)."""
        self._it = None
