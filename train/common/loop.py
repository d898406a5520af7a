"""A small Trainer around 🤗 accelerate; each trainer script keeps its own explicit loop and calls into it.

The Trainer owns what every trainer repeats: the Accelerator (devices, DDP, mixed precision), the run folder,
checkpoints + resume, metrics / curves / sample grids, the progress bar, and the final export. See
train/example_tiny.py for the loop shape.

Launching (from the repo root; `-m` keeps the repo importable):

    one device             python -m train.example_tiny --name tiny
    N GPUs, one node       accelerate launch --multi_gpu --num_processes N -m train.example_tiny --name tiny
    M nodes x N GPUs       on node k (0..M-1), with HOST = node 0's address:
                           accelerate launch --multi_gpu --num_machines M --num_processes $((M*N)) \\
                               --machine_rank k --main_process_ip HOST --main_process_port 29500 \\
                               -m train.example_tiny --name tiny
                           (or run `accelerate config` once per node and then plain `accelerate launch -m ...`)
    2 CPU processes        accelerate launch --multi_gpu --num_processes 2 --main_process_port 29511 \\
    (gloo; what the test       -m train.example_tiny --device cpu --name tiny
    runs)                  `torchrun --nproc_per_node 2 -m train.example_tiny ...` works the same way. Note that
                           `accelerate launch --cpu --num_processes 2` starts ONE process unless mpirun is set up.

--batch-size is per process: the global batch is batch_size x grad_accum x world size, and gradients are averaged
across processes, so N processes at batch B train like one process at batch N*B (and --grad-accum 2 at batch B
like batch 2B where the model has no batch statistics such as BatchNorm). Every trainer's loop goes through
Trainer.accumulate (a GAN once per optimizer); a new loop that does not is refused --grad-accum > 1 at step 1.

Flags every trainer has, as in diffusers' example scripts: --grad-accum, --report-to (accelerate trackers, logs in
runs/<name>/trackers), --resume-from latest|PATH, --push-to-hub REPO_ID with --hub-private (the repo is created
before training), --num-workers (DataLoader processes reading cache batches ahead). Only global rank 0 writes
the run folder; every rank reads the checkpoint on resume, so on several nodes --runs-dir must be on shared storage.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import importlib
import inspect
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from streetgen.data.shards import ShardedCache
from train.common.ema import EMA, unwrap
from train.common.export import base_models, export_model, push_export
from train.common.input import CacheBatches, cache_images, place_on_device
from train.common.logging import (
    NOT_CURVES,
    MetricsLog,
    plot_curves,
    read_metrics,
    save_grid,
)
from train.common.resume import check_config, checkpoint_folder, saved_config, shape_error
from train.common.run import (
    CheckpointManager,
    command_line,
    flatten_state,
    resolved_config,
    rng_state,
    set_rng_state,
    unflatten_state,
    write_json,
)
from train.common.tracking import plain_config, resolve_trackers


@dataclass
class TrainConfig:
    """Fields every trainer has; a trainer's config dataclass subclasses this and adds its own.

    A subclass changes inherited defaults as class keywords rather than by declaring the fields again, e.g.
    `class CycleGANConfig(TrainConfig, name="cyclegan", steps=40000)`; as with a redeclaration, the field keeps
    its place and type and has no --help text of its own beyond the default (declare it again to give one).
    """

    name: str = field(default="run", metadata={"help": "run folder name under --runs-dir; reused to resume"})
    runs_dir: str = field(default="runs", metadata={"help": "where run folders live (git-ignored)"})
    steps: int = field(default=1000, metadata={"help": "total optimizer steps"})
    stop_after: int = field(default=0, metadata={"help": "checkpoint and return after this many steps in this "
                                                         "invocation (job time limits); 0 = run to --steps"})
    time_limit: float = field(default=0.0, metadata={"help": "minutes of training in this invocation; when reached "
                                                        "the run ends early with its export (fixed-budget GPU "
                                                        "jobs); 0 = no limit"})
    seed: int = 0  # weights, batch order and every per-step random draw
    device: str = field(default="auto", metadata={"choices": ["auto", "cpu"], "help": "cpu forces CPU"})
    precision: str = field(default="auto", metadata={"choices": ["auto", "no", "bf16", "fp16"],
                                                     "help": "auto: bf16 (else fp16) on CUDA, no on CPU"})
    log_every: int = 10  # steps between metrics.jsonl records
    sample_every: int = field(default=0, metadata={"help": "sample grid every N steps; 0 = only at the end"})
    ckpt_every: int = 100  # steps between checkpoints
    keep_ckpts: int = 2  # checkpoints kept in runs/<name>/state
    resume: bool = field(default=True, metadata={"help": "continue from runs/<name>/state if present"})
    progress: bool = field(default=True, metadata={"help": "tqdm progress bar (main process only)"})
    push_to_hub: str = field(default="", metadata={"help": "REPO_ID: upload the export (weights + card)"})
    batch_size: int = field(default=16, metadata={"help": "per process"})
    num_workers: int = field(default=0, metadata={"help": "DataLoader processes reading cache batches ahead of the "
                                                           "loop; 0 = read in the loop"})
    device_cache_gb: float = field(default=0.0, metadata={"help": "copy the whole cache to the GPU only when it fits "
                                                                   "in this many GiB; 0 = half the GPU's free memory, "
                                                                   "-1 = never"})
    ema_decay: float = 0.999  # EMA of the weights (what is sampled and exported): decay per step
    ema_warmup: int = 1000  # steps over which the EMA decay ramps up from 0
    # the flags of diffusers' example scripts
    grad_accum: int = field(default=1, metadata={
        "help": "micro-batches of --batch-size per optimizer step; global batch = batch x accum x processes"})
    report_to: str = field(default="none", metadata={
        "help": "accelerate trackers, comma-separated (none, tensorboard, wandb, ...); logs in runs/<name>/trackers"})
    resume_from: str = field(default="", metadata={
        "help": "'latest' (an error when there is none) or PATH of a state/step_* folder; empty: latest if any"})
    hub_private: bool = field(default=False, metadata={"help": "--push-to-hub creates the repo private"})

    def __init_subclass__(cls, **defaults: Any) -> None:
        """Turn the class keywords into redeclared fields (`name: type = value`) before @dataclass reads the class."""
        super().__init_subclass__()
        own = dict(inspect.get_annotations(cls))
        for name, value in defaults.items():
            if name in own:
                raise TypeError(f"{cls.__name__}: {name} is both declared and given as a class keyword; keep one")
            inherited = next((base.__dataclass_fields__[name] for base in cls.__mro__[1:]
                              if name in getattr(base, "__dataclass_fields__", {})), None)
            if inherited is None:
                raise TypeError(f"{cls.__name__}: class keyword {name} is not an inherited config field")
            own[name] = inherited.type
            setattr(cls, name, value)
        cls.__annotations__ = own


def parse_config(cls: type, argv: list[str] | None) -> Any:
    """Build `cls` (a TrainConfig dataclass) from its defaults overridden by `--field-name value` flags."""
    parser = argparse.ArgumentParser(description=(cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else None)
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        flag = "--" + f.name.replace("_", "-")
        kw: dict[str, Any] = {"default": default, "help": f.metadata.get("help", "") + f" (default: {default})"}
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        else:
            parser.add_argument(flag, type=type(default), choices=f.metadata.get("choices"), **kw)
    return cls(**vars(parser.parse_args(argv)))


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU runs bf16 matmuls/convs natively (AVX512-BF16 or AMX); without it oneDNN emulates them."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # an older or a CPU-only build without the op: assume not
        return False


def resolve_precision(precision: str, cuda: bool) -> str:
    """accelerate's mixed_precision for `--precision` on this device."""
    if precision != "auto":
        if precision == "bf16" and not cuda and not cpu_has_fast_bf16():
            # measured on a 2-core AVX2 EPYC: the country diffusion step took 85 s in bf16 against 5.5 s in fp32
            warnings.warn("--precision bf16 on a CPU without native bf16 (no AVX512-BF16 / AMX): autocast is "
                          "emulated and can be ~15x slower than fp32; --precision no is faster here", stacklevel=2)
        return precision
    if not cuda:
        return "no"  # CPU autocast is slower than fp32 for small convs and changes numerics; opt in with bf16
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


class ResumableSampler:
    """Endless per-rank batches of dataset indices, reproducible from (seed, epoch, position).

    Each epoch is one seeded permutation, cut into global batches of batch_size x world_size; rank r takes
    slice r of each. The position is two integers, so it checkpoints as JSON and resumes mid-epoch exactly.
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        self.n, self.batch_size, self.seed, self.rank, self.world_size = n, batch_size, seed, rank, world_size
        self.global_batch = batch_size * world_size
        if n < self.global_batch:
            raise ValueError(f"dataset of {n} items is smaller than one global batch ({self.global_batch})")
        self.epoch, self.pos = 0, 0
        self._perm = self._permutation()

    def _permutation(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(self.n, generator=g)

    def next(self) -> torch.Tensor:
        """This rank's indices for the next step (drops an epoch's ragged tail)."""
        if (self.pos + 1) * self.global_batch > self.n:
            self.epoch, self.pos = self.epoch + 1, 0
            self._perm = self._permutation()
        start = self.pos * self.global_batch + self.rank * self.batch_size
        self.pos += 1
        return self._perm[start:start + self.batch_size]

    def state_dict(self) -> dict[str, int]:
        """Two integers (epoch, position): the permutation is a function of them and the seed."""
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Inverse of `state_dict`."""
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._perm = self._permutation()


class ShardSampler(ResumableSampler):
    """Batches of one rank's own rows (a rank that maps only its shards of a sharded cache): a ResumableSampler of
    one process over those rows, whose state is the number of batches drawn.

    Every rank draws one batch per step, so that count is the same on all ranks and rank 0's checkpoint resumes
    every rank exactly, although their row counts (and epochs) differ."""

    def __init__(self, n: int, batch_size: int, seed: int):
        if n < batch_size:
            raise ValueError(f"this rank's {n} rows are fewer than one batch ({batch_size}); use fewer ranks or "
                             "rebuild the cache with more, smaller shards")
        super().__init__(n, batch_size, seed)
        self.per_epoch = n // batch_size

    def state_dict(self) -> dict[str, int]:
        """The number of batches drawn (the same on every rank)."""
        return {"drawn": self.epoch * self.per_epoch + self.pos}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Inverse of `state_dict` (epoch and position follow from this rank's row count)."""
        epoch, pos = divmod(int(state["drawn"]), self.per_epoch)
        super().load_state_dict({"epoch": epoch, "pos": pos})


def weights_digest(model: nn.Module) -> str:
    """sha256 of a model's state dict (names, dtypes, bytes); equal across ranks iff the weights are."""
    h = hashlib.sha256()
    for name, t in sorted(unwrap(model).state_dict().items()):
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def import_before_process_group() -> None:
    """Import torch.distributed.nn before any process group exists (the Trainer does, before its Accelerator).

    Its ten collectives take `group=group.WORLD` as a default argument, bound at import: imported after
    init_process_group (DDP's constructor imports it through torch._dynamo), they pin the default group for the
    life of the process, and destroy_process_group can then never end the backend's threads."""
    if torch.distributed.is_available():
        importlib.import_module("torch.distributed.nn")


def set_lr(optimizers: tuple[torch.optim.Optimizer, ...], lr: float) -> None:
    """Set every param group of `optimizers` to `lr` (schedules that are a function of the step, not a scheduler)."""
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr


class Trainer:
    """Run-level bookkeeping; the training step itself stays in the trainer script."""

    def __init__(self, cfg: TrainConfig, argv: list[str] | None, entry: str, trackers: Sequence[Any] = ()):
        """`argv`: the trainer's CLI arguments (recorded); `entry`: its module, e.g. "train.example_tiny";
        `trackers`: accelerate GeneralTracker instances to log to besides --report-to's.

        Everything that can fail without training fails here, before data is loaded: unknown or uninstalled
        --report-to trackers, a --resume-from that is not a checkpoint, and the --push-to-hub repo creation."""
        from accelerate import Accelerator
        from accelerate.utils import ProjectConfiguration, set_seed
        self.cfg = cfg
        self.argv = list(argv) if argv is not None else sys.argv[1:]  # as parse_config saw them
        self.entry = entry
        if cfg.grad_accum < 1:
            raise ValueError(f"--grad-accum must be >= 1, got {cfg.grad_accum}")
        if cfg.resume_from and not cfg.resume:
            raise ValueError("--resume-from and --no-resume contradict each other; drop one")
        self.run_dir = Path(cfg.runs_dir) / cfg.name
        log_with = resolve_trackers(cfg.report_to, trackers)
        project = ProjectConfiguration(project_dir=str(self.run_dir), logging_dir=str(self.run_dir / "trackers"))
        cpu = cfg.device == "cpu" or not torch.cuda.is_available()
        import_before_process_group()
        self.accelerator = Accelerator(cpu=cfg.device == "cpu",
                                       mixed_precision=resolve_precision(cfg.precision, not cpu),
                                       log_with=log_with, project_config=project if log_with else None)
        self.device = self.accelerator.device
        self.is_main = self.accelerator.is_main_process
        self.rank, self.world_size = self.accelerator.process_index, self.accelerator.num_processes
        set_seed(cfg.seed, device_specific=True)  # distinct noise per rank; DDP broadcasts rank 0's init weights
        self.ckpt = CheckpointManager(self.run_dir / "state", keep=cfg.keep_ckpts)
        self.resume_folder = checkpoint_folder(cfg.resume_from, self.run_dir / "state")
        self.hub_url = self.create_hub_repo(cfg.push_to_hub) if cfg.push_to_hub else None
        self._accumulated = False
        self._ddp: list[nn.Module] = []  # the DDP wrappers `prepare` made; end_communication unbinds them
        self.metrics = MetricsLog(self.run_dir / "metrics.jsonl")
        self.step = 0
        self.last_step = cfg.steps
        self.last_losses: dict[str, float] = {}
        self._tracked: dict[str, Any] = {}
        self._saved_step = -1
        self.timed_out = False
        self._wall_before = 0.0  # wall time of earlier invocations of this run
        self._t0 = time.time()
        self._sampler: tuple[nn.Module, Callable[[nn.Module], Any], EMA | None, int | None] | None = None
        self.pbar: tqdm | None = None

    def create_hub_repo(self, repo_id: str) -> str:
        """Create a repo the run will push to (--hub-private applies) now, not after training: the main process
        asks the Hub and every rank raises its error. The Trainer does it for --push-to-hub; a trainer that
        pushes a second export calls it for that repo right after building the Trainer."""
        from accelerate.utils import broadcast_object_list

        from streetgen.hub import ensure_repo
        result = ["", ""]  # (url, error)
        if self.is_main:
            try:
                result[0] = ensure_repo(repo_id, private=self.cfg.hub_private)
            except ValueError as e:
                result[1] = str(e)
        if self.world_size > 1:
            broadcast_object_list(result, from_process=0)
        if result[1]:
            raise ValueError(result[1])
        return result[0]

    # ---- setup --------------------------------------------------------------------------------------------------
    def prepare(self, *objects: Any) -> Any:
        """accelerator.prepare for models / optimizers / dataloaders (not LR schedulers, see `track`)."""
        from torch.nn.parallel import DistributedDataParallel
        prepared = self.accelerator.prepare(*objects)
        self._ddp += [o for o in (prepared if isinstance(prepared, tuple) else (prepared,))
                      if isinstance(o, DistributedDataParallel)]
        return prepared

    def track(self, **objects: Any) -> None:
        """Checkpoint these (anything with state_dict / load_state_dict) under the given names.

        Step LR schedulers yourself once per optimizer step and don't pass them to `prepare`: accelerate's
        wrapper steps them world_size times per step, which would tie the schedule to the process count.
        """
        self._tracked.update(objects)

    def make_ema(self, model: nn.Module) -> EMA:
        """The EMA of `model` with --ema-decay / --ema-warmup, on the device.

        Call it after `prepare`: DDP has broadcast rank 0's initial weights, so every rank's EMA starts alike."""
        return EMA(model, decay=self.cfg.ema_decay, warmup=self.cfg.ema_warmup).to(self.device)

    def make_sampler(self, n: int, seed_offset: int = 0, own_rows: bool = False) -> ResumableSampler | ShardSampler:
        """This rank's resumable batches of --batch-size indices into `n` items, seeded by --seed + `seed_offset`:
        slices of global batches over rows every rank shares, or with `own_rows` (a cache opened for this rank
        only, see `open_cache`) batches of this rank's own n rows."""
        if own_rows:
            return ShardSampler(n, self.cfg.batch_size, self.cfg.seed + seed_offset + 7919 * self.rank)
        return ResumableSampler(n, self.cfg.batch_size, self.cfg.seed + seed_offset, self.rank, self.world_size)

    def open_cache(self, path: str, own_shards: bool = True) -> tuple[ShardedCache, bool]:
        """(the training cache, whether it holds only this rank's rows). A sharded cache with at least one shard
        per process is split by shard, so each process maps only its own (pass the flag on to `make_sampler`);
        otherwise, or with `own_shards=False`, every process reads the whole cache. The choice is printed."""
        cache = ShardedCache(path)
        split = own_shards and self.world_size > 1 and not cache.single and cache.num_shards >= self.world_size
        if split:
            cache = cache.for_rank(self.rank, self.world_size)
        if self.is_main:
            print(f"data: {path}: {cache.num_shards} shard(s); " + (
                f"each of {self.world_size} processes reads only its own" if split else "every process reads all"),
                  flush=True)
        return cache, split

    def cache_batches(self, source: Any, sampler: Any, rows: Any = None) -> CacheBatches:
        """The run's input pipeline over a cache (call after `start`: it reads on from the sampler's resumed
        position). The whole cache goes to the GPU when it fits --device-cache-gb, else --num-workers read ahead;
        the choice is printed."""
        images = cache_images(source)
        on_device, why = (place_on_device(int(images.nbytes), self.device, self.cfg.device_cache_gb)
                          if self.cfg.device_cache_gb >= 0 else (False, "cache read from its memory map "
                                                                        "(--device-cache-gb -1)"))
        if self.is_main:
            workers = 0 if on_device else self.cfg.num_workers
            print(f"input: {why}; {workers} DataLoader worker(s) per process", flush=True)
        return CacheBatches(source, sampler, device=self.device, rows=rows, on_device=on_device,
                            num_workers=0 if on_device else self.cfg.num_workers)

    def step_generator(self, step: int) -> torch.Generator:
        """A CPU RNG keyed by (seed, step, rank) for one step's crops, flips and pool draws: a resumed run draws
        the same ones whatever happened before."""
        return torch.Generator().manual_seed((self.cfg.seed * 1_000_003 + step) * 64 + self.rank)

    def set_sampler(self, model: nn.Module, make_samples: Callable[[nn.Module], Any], ema: EMA | None = None,
                    ncols: int | None = None) -> None:
        """`make_samples(model)` -> uint8 images, or (images, captions); called on the main process only."""
        self._sampler = (model, make_samples, ema, ncols)

    def start(self) -> int:
        """Create the run folder or resume from its latest checkpoint; returns the step to continue after."""
        cfg = self.cfg
        loaded = self.ckpt.load(self.resume_folder) if self.resume_folder is not None else None
        if loaded is not None and not cfg.resume:
            raise FileExistsError(f"{self.run_dir} already has checkpoints; drop --no-resume to continue it, or pick another --name")
        info = resolved_config(cfg, argv=self.argv, entry=self.entry, world_size=self.world_size,
                               mixed_precision=self.accelerator.mixed_precision)
        if loaded is not None:
            saved = saved_config(self.resume_folder, loaded[1])
            check_config(saved, cfg)  # shape changes refused, other hyper-parameter changes warned about
            try:
                self._restore(*loaded)
            except RuntimeError as e:
                if "size mismatch" not in str(e):
                    raise
                raise shape_error(e, saved, cfg) from None
        if self.is_main:
            (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
            old = self.run_dir / "config.json"
            if loaded is not None and old.is_file():
                prev = json.loads(old.read_text(encoding="utf-8"))
                history = prev.pop("history", [])
                info["history"] = history + [{k: prev.get(k) for k in ("command", "start_time", "world_size")}]
            if loaded is not None:  # also a new run started from another run's checkpoint (--resume-from PATH)
                info["resumed_from_step"] = self.step
                info["resumed_from"] = str(self.resume_folder)
            # records past the checkpoint are re-trained now (or belong to a run that never checkpointed)
            self.metrics.truncate_after(self.step)
            last = (read_metrics(self.metrics.path) or [{}])[-1]  # for the card if nothing is left to train
            self.last_losses = {k: v for k, v in last.items() if k not in NOT_CURVES and isinstance(v, float)}
            write_json(old, info)
            if self.accelerator.log_with:
                self.accelerator.init_trackers(cfg.name, config=plain_config(info["config"]))
        self.last_step = min(cfg.steps, self.step + cfg.stop_after) if cfg.stop_after > 0 else cfg.steps
        self._t0 = time.time()  # wall time counts training, not imports and set-up
        self.pbar = tqdm(total=cfg.steps, initial=self.step, disable=not (self.is_main and cfg.progress),
                         desc=cfg.name, dynamic_ncols=True)
        self.accelerator.wait_for_everyone()
        return self.step

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        for name, obj in self._tracked.items():
            if name not in meta["objects"]:
                raise KeyError(f"checkpoint {self.resume_folder} has no {name!r} (has {sorted(meta['objects'])})")
            state = unflatten_state(meta["objects"][name], tensors)
            (unwrap(obj) if isinstance(obj, nn.Module) else obj).load_state_dict(state)
        if self.accelerator.scaler is not None and "scaler" in meta:
            self.accelerator.scaler.load_state_dict(unflatten_state(meta["scaler"], tensors))
        rngs = meta["rng"]
        # same world size: every rank continues its own streams; otherwise exact replay is impossible anyway
        set_rng_state(unflatten_state(rngs[self.rank % len(rngs)], tensors))
        self.step = self._saved_step = int(meta["step"])
        self._wall_before = float(meta.get("wall_time", 0.0))

    # ---- per step -----------------------------------------------------------------------------------------------
    def accumulate(self, model: nn.Module | Sequence[nn.Module], micro_step: Callable[[], dict[str, torch.Tensor]],
                   objective: str = "loss") -> dict[str, torch.Tensor]:
        """Gradient accumulation: call `micro_step()` (one micro-batch: draw --batch-size items, return tensors,
        among them the `objective` to minimise) --grad-accum times and backpropagate each objective / grad_accum,
        so the gradients are those of the mean objective over all micro-batches; DDP all-reduces `model`'s
        gradients (one module, or a sequence of those one optimizer steps) on the last micro-batch only.
        A GAN calls it once per optimizer (D's micro-batches, then G's).

        Returns the other values (all of them when the objective is "loss") averaged over the micro-batches
        (detached), for `step_done`. The caller then clips, steps the optimizer and zeroes the gradients."""
        n = self.cfg.grad_accum
        self._accumulated = True
        mean: dict[str, torch.Tensor] = {}
        for k in range(n):
            last = k == n - 1
            with contextlib.ExitStack() as stack:
                if not last and self.world_size > 1:
                    for m in (model,) if isinstance(model, nn.Module) else model:
                        stack.enter_context(self.accelerator.no_sync(m))
                out = micro_step()
                self.accelerator.backward(out[objective] if n == 1 else out[objective] / n)
            for name, value in out.items():
                if name == objective and objective != "loss":
                    continue
                value = torch.as_tensor(value).detach()
                mean[name] = value if n == 1 else mean.get(name, 0) + value.float() / n
        return mean

    def optimizer_step(self, model: nn.Module | Sequence[nn.Module], optimizer: torch.optim.Optimizer,
                       micro_step: Callable[[], dict[str, torch.Tensor]],
                       objective: str = "loss") -> dict[str, torch.Tensor]:
        """Zero `optimizer`'s gradients, `accumulate` them over --grad-accum micro-batches and step it; returns the
        logged means. A GAN calls it once per optimizer (e.g. D's step, then G's), each with its own micro-batches."""
        optimizer.zero_grad(set_to_none=True)
        logs = self.accumulate(model, micro_step, objective)
        optimizer.step()
        return logs

    def wall_time(self) -> float:
        """Seconds of training across all invocations of this run."""
        return self._wall_before + time.time() - self._t0

    def step_done(self, step: int, losses: dict[str, Any], lr: float | None = None) -> bool:
        """Call once per optimizer step on every rank: progress, and logs / samples / checkpoints when due.

        Returns False when the loop must stop early (--time-limit reached; every rank agrees)."""
        cfg = self.cfg
        if cfg.grad_accum > 1 and not self._accumulated:
            raise ValueError(f"--grad-accum {cfg.grad_accum}: {self.entry} does not accumulate gradients (its loop "
                             "does not call Trainer.accumulate); use --grad-accum 1")
        self.step = step
        if (cfg.time_limit > 0 and step < self.last_step and (self.world_size == 1 or step % cfg.log_every == 0)
                and self._over_time()):
            self.timed_out = True
            self.last_step = step
        final = step == self.last_step
        if step % cfg.log_every == 0 or final:
            self.log(step, losses, lr)
        if self._sampler is not None and cfg.sample_every > 0 and step % cfg.sample_every == 0:
            self.sample(step)
        if step % cfg.ckpt_every == 0 or final:
            self.save()
        if self.pbar is not None:
            self.pbar.update(step - self.pbar.n)
        return not self.timed_out

    def _over_time(self) -> bool:
        over = time.time() - self._t0 > 60 * self.cfg.time_limit
        if self.world_size == 1:
            return over
        from accelerate.utils import broadcast
        # rank 0's clock decides for everyone, so no rank stops while the others wait in a collective
        return bool(broadcast(torch.tensor([float(over)], device=self.device), from_process=0).item())

    def log(self, step: int, losses: dict[str, Any], lr: float | None = None) -> dict[str, float]:
        """Average `losses` over ranks (a collective: every rank calls) and append them to metrics.jsonl."""
        names = sorted(losses)
        vals = torch.stack([torch.as_tensor(losses[k], dtype=torch.float32).detach().reshape(()).to(self.device)
                            for k in names])
        vals = self.accelerator.reduce(vals, reduction="mean") if self.world_size > 1 else vals
        self.last_losses = dict(zip(names, vals.cpu().tolist()))
        if self.is_main:
            record = {"step": step, "time": round(self.wall_time(), 3), **({"lr": lr} if lr is not None else {}),
                      **self.last_losses}
            self.metrics.append(record)
            if self.accelerator.log_with:
                self.accelerator.log({k: v for k, v in record.items() if k != "step"}, step=step)
            if self.pbar is not None:
                self.pbar.set_postfix({k: f"{v:.4g}" for k, v in self.last_losses.items()}, refresh=False)
        return self.last_losses

    def sample(self, step: int) -> Path | None:
        """Write samples/step_XXXXXX.png from the registered sampler (EMA weights when given); main only."""
        if not self.is_main or self._sampler is None:
            return None
        model, make_samples, ema, ncols = self._sampler
        bare = unwrap(model)  # forward on the DDP wrapper from one rank would wait on the others
        rng = rng_state()  # sampling must not shift the training RNG streams (resume would diverge)
        was_training = bare.training
        try:
            bare.eval()
            with torch.no_grad():
                if ema is not None:
                    with ema.apply_to(bare):
                        out = make_samples(bare)
                else:
                    out = make_samples(bare)
        finally:
            bare.train(was_training)
            set_rng_state(rng)
        images, captions = out if isinstance(out, tuple) else (out, None)
        return save_grid(images, self.run_dir / "samples" / f"step_{step:06d}.png", captions=captions, ncols=ncols)

    def save(self) -> None:
        """Checkpoint every tracked object + every rank's RNG (collective); rank 0 writes; curves redrawn."""
        from accelerate.utils import gather_object
        rng = rng_state()
        rngs = gather_object([rng]) if self.world_size > 1 else [rng]
        if self.is_main:
            tensors: dict[str, torch.Tensor] = {}
            meta: dict[str, Any] = {"wall_time": self.wall_time(), "world_size": self.world_size,
                                    "config": dataclasses.asdict(self.cfg), "objects": {}}
            for name, obj in self._tracked.items():
                state = (unwrap(obj) if isinstance(obj, nn.Module) else obj).state_dict()
                meta["objects"][name] = flatten_state(state, name, tensors)
            if self.accelerator.scaler is not None:
                meta["scaler"] = flatten_state(self.accelerator.scaler.state_dict(), "scaler", tensors)
            meta["rng"] = [flatten_state(r, f"rng.{i}", tensors) for i, r in enumerate(rngs)]
            self.ckpt.save(self.step, tensors, meta)
            plot_curves(read_metrics(self.metrics.path), self.run_dir / "curves.png", title=self.cfg.name)
        self._saved_step = self.step
        self.accelerator.wait_for_everyone()

    # ---- end ----------------------------------------------------------------------------------------------------
    def finish(self, model: nn.Module, card: Any = None, ema: EMA | None = None) -> Path | None:
        """Close the run: checkpoint; when --steps is reached also final samples, export (+ push), final.json.

        Returns the export folder on the main process when exported, else None.
        """
        from accelerate.utils import gather_object
        if self._saved_step != self.step:
            self.save()
        if self.pbar is not None:
            self.pbar.close()
        if self.step < self.cfg.steps and not self.timed_out:  # --stop-after: continues in a later invocation
            self.end_communication()
            return None
        digest = weights_digest(model)
        digests = gather_object([digest]) if self.world_size > 1 else [digest]
        out = None
        if self.is_main:
            if self._sampler is not None and (self.cfg.sample_every <= 0 or self.step % self.cfg.sample_every):
                self.sample(self.step)
            if card is not None:
                card = dataclasses.replace(
                    card, training_command=command_line(self.argv, self.entry, self.world_size), steps=self.step,
                    wall_time_s=round(self.wall_time(), 1), metrics={**card.metrics, **self.last_losses},
                    hardware=card.hardware or f"{self.world_size} x {self.device.type}",
                    base_model=card.base_model or base_models(str(getattr(self.cfg, "init_from", "") or "")))
            out = export_model(model, self.run_dir / "export", card=card, ema=ema)
            if self.cfg.push_to_hub:
                push_export(out, self.cfg.push_to_hub)
            write_json(self.run_dir / "final.json", {
                "step": self.step, "wall_time": self.wall_time(), "world_size": self.world_size,
                "losses": self.last_losses, "rank_weight_digests": digests,
                "exported_ema": ema is not None, "pushed_to": self.cfg.push_to_hub or None})
        self.end_communication()
        return out

    def end_communication(self) -> None:
        """Wait for every rank, flush the trackers and end the process group for good, while Python is fully alive.

        The DDP wrappers `prepare` made first drop what binds them to the group (the attributes DDP's own pickling
        drops: reducer, logger, process_group), so destroy_process_group releases the last reference and the backend's
        threads (gloo: two workers and a socket loop) are joined here. Otherwise they ran on into interpreter shutdown,
        where a CI rank once aborted ("terminate called without an active exception"). The wrappers no longer
        communicate afterwards; the modules they wrap are untouched."""
        self.accelerator.wait_for_everyone()
        for ddp in self._ddp:
            for name in ("reducer", "logger", "process_group"):
                ddp.__dict__.pop(name, None)
        self._ddp.clear()
        self.accelerator.end_training()
