"""Train the map → street GAN: progressive growing + WGAN-GP + a coordinate-conditioned generator and critic.

    python -m train.train_map_gan --data data/world_cvae111_128 --name map_gan --steps 30000 --batch-size 32
    # without the curriculum, with outlier removal and model selection every 1000 steps:
    python -m train.train_map_gan --name map_gan_all --curriculum all --outlier-km 3000 --select-every 1000

What a run does, in the issue's order:
- progressive growing: start_size² first, then each doubling fades in over --fade-images real images and trains
  alone for --stage-images more (the schedule is a function of the step, so it resumes exactly);
- WGAN-GP: critic loss D(fake) − D(real) + gp·(‖∇D(x̂)‖ − 1)² + drift·D(real)², generator loss −D(fake);
- curriculum: the images nearest to one place, then to 25 places spread over the world, then everything
  (--curriculum "1,25,all", each phase but the last lasting --curriculum-steps steps);
- outlier removal (--outlier-km > 0): training images whose place-judge location guess is further than that
  from their own coordinates are dropped once at start;
- model selection (--select-every > 0): the EMA generator's judged median location error on fixed requested points
  is logged as judge_km; at the final resolution the best one is kept and exported instead of the last. The state
  of the two-player game is logged as loss_gap = critic loss − generator loss, beside the Wasserstein estimate.
Only the EMA generator is exported; the critic stays in the run's checkpoints.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen import geo
from streetgen.data.licences import WORLD, DataSource, from_meta
from streetgen.data.shards import ShardedCache
from streetgen.models.card import ModelCardInfo
from streetgen.models.map_gan import MapGenerator
from streetgen.pipelines.map import sample_map
from train.common.data import to_model_input
from train.common.ema import EMA, unwrap
from train.common.export import init_from
from train.common.loop import TrainConfig, Trainer, parse_config
from train.discriminators.map_critic import MapCritic
from train.discriminators.minibatch import stddev_group
from train.losses import gradient_penalty


@dataclass
class MapGANConfig(TrainConfig,
                   name="map_gan", steps=30000, log_every=50, ckpt_every=1000, sample_every=2000, ema_warmup=100):
    """Map → street: a progressive, coordinate-conditioned WGAN-GP."""

    data: str = "data/world_cvae111_128"  # a cache built by streetgen.data.cache (index.csv has lat/lon)
    batch_size: int = field(default=32, metadata={"help": "per process"})
    final_size: int = 128  # exported image side
    start_size: int = 8  # first resolution of progressive growing
    z_dim: int = 128  # latent size
    context_dim: int = 64  # size of the coordinate context vector
    coord_bands: int = 6  # Fourier frequency bands of the coordinates
    channels: str = field(default="", metadata={"help": "widths per resolution, comma-separated; empty = "
                                                        "the model's default (256 at 8², halved per doubling)"})
    context_norm: bool = field(default=True, metadata={"help": "normalise the coordinate context to unit RMS"})
    context_noise: float = field(default=0.1, metadata={"help": "std of Gaussian noise added to the context "
                                                               "(generator and critic) while training; 0 = off"})
    condition: str = field(default="projection", metadata={"choices": ["projection", "concat"],
                                                            "help": "how the critic uses the coordinates"})
    stage_images: int = field(default=100_000, metadata={"help": "real images per resolution once faded in"})
    fade_images: int = field(default=100_000, metadata={"help": "real images over which a resolution fades in"})
    lr: float = 1e-3  # Adam, generator and critic
    beta1: float = 0.0  # Adam's first beta
    beta2: float = 0.99  # Adam's second beta
    n_critic: int = 1  # critic steps per generator step
    gp_weight: float = 10.0  # WGAN-GP gradient-penalty weight
    drift: float = 1e-3  # weight of D(real)² (keeps the critic's scores near 0)
    curriculum: str = field(default="1,25,all", metadata={"help": "places per phase ('all' = every image)"})
    curriculum_steps: str = field(default="1000,3000", metadata={"help": "steps of each phase but the last"})
    place_images: int = field(default=64, metadata={"help": "images nearest to a place that make up the place"})
    outlier_km: float = field(default=0.0, metadata={"help": "drop images the place judge locates further than "
                                                            "this from their label; 0 = keep all"})
    judge: str = "judges/place"  # the place judge of outlier removal and model selection
    select_every: int = field(default=1000, metadata={"help": "judge the EMA generator every N steps and export "
                                                             "the best at the final resolution; 0 = off"})
    select_points: int = 64  # fixed requested places the selection judges
    init_from: str = field(default="", metadata={"help": "an exported map GAN (folder or Hub id) whose generator "
                                                        "starts the run (same architecture; the critic starts "
                                                        "fresh); pair with --stage-images 0 --fade-images 0 to "
                                                        "train on at its final size"})


# ---- schedules ----------------------------------------------------------------------------------------------------
def growth(images_seen: int, num_stages: int, stage_images: int, fade_images: int) -> tuple[int, float]:
    """(stage, alpha) after `images_seen` real images: stage 0 alone, then per stage a fade-in and a stable part."""
    if stage_images == 0 and fade_images == 0:  # no growing: the final resolution from the first step
        return num_stages - 1, 1.0
    if images_seen < stage_images or num_stages == 1:
        return 0, 1.0
    period = fade_images + stage_images
    k = images_seen - stage_images
    stage = 1 + k // max(period, 1)
    if stage >= num_stages:
        return num_stages - 1, 1.0
    into = k % max(period, 1)
    return stage, (min(1.0, into / fade_images) if fade_images > 0 else 1.0)


def parse_curriculum(places: str, steps: str) -> tuple[list[int | None], list[int]]:
    """"1,25,all" + "1000,3000" → ([1, 25, None], [1000, 3000]); None = every image."""
    phases = [None if p.strip().lower() == "all" else int(p) for p in places.split(",") if p.strip()]
    lengths = [int(s) for s in steps.split(",") if s.strip()] if len(phases) > 1 else []
    if not phases or any(p is not None and p < 1 for p in phases):
        raise ValueError(f"--curriculum must list place counts ≥ 1 or 'all', got {places!r}")
    if len(lengths) != len(phases) - 1 or any(s < 1 for s in lengths):
        raise ValueError(f"--curriculum-steps needs {len(phases) - 1} positive step counts (one per phase but "
                         f"the last), got {steps!r}")
    return phases, lengths


class CurriculumSampler:
    """Per-rank batches of indices drawn from a growing pool: one place → k places → everything.

    A place is the `place_images` images nearest to an anchor (chord distance on the unit sphere). The first anchor
    is a seeded random image; the others are picked by farthest-point sampling, so 25 places spread over the
    world; each phase's pool contains the previous one. Within a phase, batches come from seeded permutations
    exactly like ResumableSampler; the state (step, epoch, pos) is three integers, so resume is exact.
    """

    def __init__(self, lat: np.ndarray, lon: np.ndarray, batch_size: int, seed: int,
                 phases: list[int | None] | None = None, phase_steps: list[int] | None = None,
                 place_images: int = 64, rank: int = 0, world_size: int = 1):
        phases = list(phases) if phases is not None else [None]
        phase_steps = list(phase_steps or [])
        if len(phase_steps) != len(phases) - 1:
            raise ValueError(f"{len(phases)} phases need {len(phases) - 1} phase lengths, got {phase_steps}")
        self.n = len(lat)
        if self.n == 0:
            raise ValueError("no images to sample from")
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.global_batch = batch_size * world_size
        self.boundaries = np.cumsum(phase_steps).tolist()
        xyz = geo.unit_xyz(lat, lon)
        wanted = max([p for p in phases if p is not None] or [0])
        anchors = self._anchors(xyz, min(wanted, self.n))
        near = min(place_images, self.n)
        self.pools: list[np.ndarray] = []
        for p in phases:
            if p is None:
                self.pools.append(np.arange(self.n))
                continue
            d = ((xyz[None, :, :] - xyz[anchors[:p], None, :]) ** 2).sum(-1)  # (places, n)
            nearest = np.argsort(d, axis=1, kind="stable")[:, :near]
            self.pools.append(np.unique(nearest))
        self.places = [p if p is not None else self.n for p in phases]
        self.step, self.epoch, self.pos = 0, 0, 0
        self._phase = self.phase_at(0)
        self._perm = self._permutation()

    def _anchors(self, xyz: np.ndarray, k: int) -> np.ndarray:
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        first = int(np.random.default_rng(self.seed).integers(self.n))
        chosen = [first]
        dist = ((xyz - xyz[first]) ** 2).sum(-1)
        for _ in range(k - 1):
            nxt = int(np.argmax(dist))  # the image furthest from every place chosen so far
            chosen.append(nxt)
            dist = np.minimum(dist, ((xyz - xyz[nxt]) ** 2).sum(-1))
        return np.asarray(chosen)

    def phase_at(self, step: int) -> int:
        """The curriculum phase of batch number `step` (0-based)."""
        return int(np.searchsorted(self.boundaries, step, side="right"))

    @property
    def phase(self) -> int:
        """The phase of the last batch drawn."""
        return self._phase

    def pool(self, phase: int | None = None) -> np.ndarray:
        """Image indices the given (default: current) phase draws from."""
        return self.pools[self._phase if phase is None else phase]

    def _permutation(self) -> np.ndarray:
        pool = self.pools[self._phase]
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self._phase * 10_007 + self.epoch)
        reps = -(-self.global_batch // len(pool))  # a small pool (one place) is repeated to fill a batch
        order = torch.cat([torch.randperm(len(pool), generator=g) for _ in range(reps)]).numpy()
        return pool[order]

    def next(self) -> torch.Tensor:
        """This rank's image indices for the next batch."""
        phase = self.phase_at(self.step)
        if phase != self._phase:
            self._phase, self.epoch, self.pos = phase, 0, 0
            self._perm = self._permutation()
        elif (self.pos + 1) * self.global_batch > len(self._perm):
            self.epoch, self.pos = self.epoch + 1, 0
            self._perm = self._permutation()
        start = self.pos * self.global_batch + self.rank * self.batch_size
        self.pos += 1
        self.step += 1
        return torch.from_numpy(self._perm[start:start + self.batch_size].copy())

    def state_dict(self) -> dict[str, int]:
        """Three integers: resume draws exactly the batches an uninterrupted run would."""
        return {"step": self.step, "epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Inverse of `state_dict`."""
        self.step, self.epoch, self.pos = int(state["step"]), int(state["epoch"]), int(state["pos"])
        self._phase = self.phase_at(self.step - 1 if self.step > 0 else 0)  # the phase of the last batch drawn
        self._perm = self._permutation()


class Selection:
    """The best EMA generator so far by judged location error (kept in memory and in the run's checkpoints)."""

    def __init__(self) -> None:
        self.best_km: float | None = None
        self.best_step = -1
        self.shadow: dict[str, torch.Tensor] = {}

    def offer(self, km: float, step: int, ema: EMA) -> bool:
        """Keep the EMA weights when `km` beats the best so far; returns whether they were kept."""
        if self.best_km is not None and km >= self.best_km:
            return False
        self.best_km, self.best_step = float(km), int(step)
        self.shadow = {k: v.detach().clone() for k, v in ema.shadow.items()}
        return True

    def state_dict(self) -> dict[str, Any]:
        """The best score, its step and its weights (checkpointed with the run)."""
        return {"best_km": self.best_km, "best_step": self.best_step, "shadow": dict(self.shadow)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of `state_dict`."""
        self.best_km = None if state["best_km"] is None else float(state["best_km"])
        self.best_step = int(state["best_step"])
        self.shadow = {k: v.clone() for k, v in state["shadow"].items()}


# ---- judge ----------------------------------------------------------------------------------------------------------
@torch.no_grad()
def location_error_km(judge: torch.nn.Module, images: torch.Tensor, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle km between where the place judge puts each image (B, 3, H, W in [0, 1]) and its label."""
    p = next(judge.parameters())
    xyz = judge(images.to(p.device, p.dtype))["xyz"].double().cpu().numpy()
    plat = np.degrees(np.arcsin(np.clip(xyz[:, 2], -1, 1)))
    plon = np.degrees(np.arctan2(xyz[:, 1], xyz[:, 0]))
    return geo.haversine_km(np.asarray(lat), np.asarray(lon), plat, plon)


def cache_location_errors(judge: torch.nn.Module, cache: ShardedCache, batch: int = 256) -> np.ndarray:
    """The judge's location error (km) for every image of a cache (outlier removal)."""
    out = []
    for a in range(0, len(cache), batch):
        x = torch.from_numpy(np.array(cache.images[a:a + batch])).permute(0, 3, 1, 2).float() / 255
        out.append(location_error_km(judge, x, cache.lat[a:a + batch], cache.lon[a:a + batch]))
    return np.concatenate(out)


def judged_median_km(model: MapGenerator, judge: torch.nn.Module, points: np.ndarray, seed: int = 0) -> float:
    """Median judged location error of one image per requested point (eval mode, fixed latents)."""
    was_training = model.training
    model.eval()
    try:
        images = sample_map(model, torch.from_numpy(points), generator=torch.Generator().manual_seed(seed))
    finally:
        model.train(was_training)
    return float(np.median(location_error_km(judge, images, points[:, 0], points[:, 1])))


# ---- data ---------------------------------------------------------------------------------------------------------
def real_batch(batch: torch.Tensor, final_size: int, size: int, alpha: float) -> torch.Tensor:
    """Real images (a uint8 batch of the input pipeline) in [-1, 1] at the stage's size; during a fade-in blended
    with their 2× coarser version, as the generator's output is."""
    x = to_model_input(batch, final_size)
    if size != final_size:
        x = F.avg_pool2d(x, final_size // size)
    if alpha < 1.0:
        x = torch.lerp(F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest"), x, float(alpha))
    return x


def samples_view(model: MapGenerator, points: np.ndarray) -> tuple[np.ndarray, list[str]]:
    imgs = sample_map(model, torch.from_numpy(points), generator=torch.Generator().manual_seed(0))
    arr = (imgs * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return arr, [f"{lat:.1f}, {lon:.1f}" for lat, lon in points]


def load_judge(cfg: MapGANConfig, device: torch.device) -> torch.nn.Module | None:
    """The frozen place judge, when outlier removal or model selection needs it."""
    if cfg.outlier_km <= 0 and cfg.select_every <= 0:
        return None
    import streetgen
    return streetgen.load(cfg.judge).to(device).eval().requires_grad_(False)


def outlier_free_rows(cfg: MapGANConfig, cache: ShardedCache, judge: torch.nn.Module | None,
                      world_size: int) -> np.ndarray:
    """Cache rows to train on: all, or (--outlier-km > 0) those the place judge locates within that distance."""
    if cfg.outlier_km <= 0:
        return np.arange(len(cache))
    keep = np.flatnonzero(cache_location_errors(judge, cache) <= cfg.outlier_km)
    if len(keep) < cfg.batch_size * world_size:
        raise ValueError(f"--outlier-km {cfg.outlier_km} keeps {len(keep)} of {len(cache)} images, fewer than "
                         "one global batch; raise it or set 0 to keep every image")
    return keep


def build(cfg: MapGANConfig) -> tuple[MapGenerator, MapCritic, torch.optim.Adam, torch.optim.Adam]:
    """Generator (from --init-from when given), critic and their Adam optimisers."""
    channels = [int(c) for c in cfg.channels.split(",")] if cfg.channels.strip() else None
    common = dict(final_size=cfg.final_size, start_size=cfg.start_size, coord_bands=cfg.coord_bands,
                  context_dim=cfg.context_dim, channels=channels, context_norm=cfg.context_norm,
                  context_noise=cfg.context_noise)
    generator = MapGenerator(z_dim=cfg.z_dim, **common)
    if cfg.init_from:  # e.g. a GPU run continued on the CPU, or the shipped model fine-tuned on real photos
        init_from(generator, cfg.init_from)
    critic = MapCritic(condition=cfg.condition, **common)
    betas = (cfg.beta1, cfg.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=cfg.lr, betas=betas)
    return generator, critic, opt_g, opt_d


def judge_and_select(trainer: Trainer, judge: torch.nn.Module, bare: MapGenerator, ema: EMA, selection: Selection,
                     points: np.ndarray, step: int, final_stage: bool, logged: dict[str, Any]) -> None:
    """Judge the EMA generator on the fixed points; a final-resolution one is a selection candidate. judge_km goes
    into this step's record when one is due, else into a record of its own."""
    cfg = trainer.cfg
    with ema.apply_to(bare):
        km = judged_median_km(bare, judge, points, seed=cfg.seed)
    if final_stage:  # only final-resolution generators are candidates
        selection.offer(km, step, ema)
    if step % cfg.log_every == 0 or step == trainer.last_step:
        logged["judge_km"] = km
    else:
        trainer.log(step, {"judge_km": km})


def selected_metrics(selection: Selection, ema: EMA) -> dict[str, float]:
    """Model selection at the end: the best judged EMA generator replaces the last one (and is exported)."""
    if not selection.shadow:
        return {}
    for name, t in selection.shadow.items():
        ema.shadow[name].copy_(t.to(ema.shadow[name].device))
    return {"judge_median_location_error_km": float(selection.best_km), "selected_step": float(selection.best_step)}


def model_card(cfg: MapGANConfig, n_cache: int, n_kept: int, size: int, selection: Selection,
               metrics: dict[str, float], data: DataSource = WORLD) -> ModelCardInfo:
    """The export's card: recipe, data (and outliers dropped, its licence), and which step was selected."""
    return ModelCardInfo(
        description="Map → street GAN: (lat, lon) → street image. Progressive growing "
                    f"({cfg.start_size}² → {cfg.final_size}²), WGAN-GP, conditioned on unit-sphere xyz + Fourier "
                    f"features through an MLP (context norm {'on' if cfg.context_norm else 'off'}, context noise "
                    f"{cfg.context_noise}), critic with a {cfg.condition} term. EMA generator only.",
        data=f"{n_kept} images from cache {cfg.data}" + (f" ({n_cache - n_kept} outliers beyond "
                                                         f"{cfg.outlier_km} km dropped)" if cfg.outlier_km > 0
                                                         else "") + f", exported at {size}²",
        metrics=metrics, tags=["gan", "map"], **data.card_fields(),
        notes=f"curriculum {cfg.curriculum} (phase steps {cfg.curriculum_steps}); model selection by the judged "
              "median location error" + (f", best at step {selection.best_step}" if selection.shadow else
                                         " (no final-resolution candidate; the last EMA weights are exported)")
              + (f"; generator started from {cfg.init_from}" if cfg.init_from else ""))


def train_step(trainer: Trainer, nets: tuple[nn.Module, nn.Module], opts: tuple[torch.optim.Optimizer, ...],
               batches: Any, cache: ShardedCache, cfg: MapGANConfig, at: tuple[int, int, float]) -> dict[str, Any]:
    """--n-critic critic steps, then one generator step, each over --grad-accum micro-batches of `batches`; the
    gradient penalty and the minibatch-stddev groups are per micro-batch, and G's k-th micro-batch takes the places
    of the last critic step's k-th. `at`: (growth stage, its image side, fade-in alpha). Returns the logged values
    (the critic's from its last step; micro-batch means)."""
    (generator, critic), (opt_g, opt_d), (stage, size, alpha) = nets, opts, at
    device, group = trainer.device, stddev_group(cfg.batch_size)
    places: list[torch.Tensor] = []

    def d_micro() -> dict[str, torch.Tensor]:
        rows, batch = batches.next()  # sorted rows: kinder to the memory map
        real = real_batch(batch, cfg.final_size, size, alpha)
        latlon = torch.from_numpy(np.stack([cache.lat[rows], cache.lon[rows]], axis=1))
        places.append(latlon)
        z = torch.randn(len(rows), cfg.z_dim, device=device)
        with torch.no_grad():
            fake = generator(z, latlon, stage, alpha).float()
        eps = torch.rand(len(rows), 1, 1, 1, device=device)
        mixed = torch.lerp(fake, real.float(), eps).requires_grad_(True)
        # one critic pass over [real, fake, mixed]: one forward per backward, as DDP wants; the
        # minibatch-stddev groups never straddle two parts (group divides the per-part batch)
        scores = critic(torch.cat([real, fake, mixed]), latlon.repeat(3, 1), stage, alpha, group).float()
        d_real, d_fake, d_mixed = scores.chunk(3)
        gp = gradient_penalty(d_mixed, mixed)
        d_loss = d_fake.mean() - d_real.mean() + cfg.gp_weight * gp + cfg.drift * d_real.pow(2).mean()
        return {"objective": d_loss, "d_loss": d_loss, "gp": gp, "d_real": d_real.mean(), "d_fake": d_fake.mean()}

    def g_micro() -> dict[str, torch.Tensor]:
        latlon = places.pop(0)
        z = torch.randn(len(latlon), cfg.z_dim, device=device)
        return {"loss": -critic(generator(z, latlon, stage, alpha), latlon, stage, alpha, group).float().mean()}

    for _ in range(cfg.n_critic):
        places.clear()
        d = trainer.optimizer_step(critic, opt_d, d_micro, objective="objective")
    g_loss = trainer.optimizer_step(generator, opt_g, g_micro)["loss"]
    opt_d.zero_grad(set_to_none=True)  # the generator step's critic gradients are not the critic's to use
    return {"d_loss": d["d_loss"], "g_loss": g_loss, "loss_gap": d["d_loss"] - g_loss, "gp": d["gp"],
            "wasserstein": d["d_real"] - d["d_fake"]}


def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns the export folder on the main process once --steps is reached."""
    cfg = parse_config(MapGANConfig, argv)
    trainer = Trainer(cfg, argv, entry="train.train_map_gan")
    device = trainer.device
    cache, _ = trainer.open_cache(cfg.data, own_shards=False)  # places are drawn from the whole cache
    images = cache.images
    if images.shape[1] < cfg.final_size:
        raise ValueError(f"cache {cfg.data} holds {images.shape[1]}² images, smaller than --final-size "
                         f"{cfg.final_size}")
    judge = load_judge(cfg, device)
    keep = outlier_free_rows(cfg, cache, judge, trainer.world_size)
    lat, lon = cache.lat[keep], cache.lon[keep]
    phases, phase_steps = parse_curriculum(cfg.curriculum, cfg.curriculum_steps)
    generator, critic, opt_g, opt_d = build(cfg)
    if trainer.world_size > 1:  # blocks above the current stage get no gradient: DDP must be told
        from accelerate.utils import DistributedDataParallelKwargs
        trainer.accelerator.ddp_handler = DistributedDataParallelKwargs(find_unused_parameters=True)
    generator, critic, opt_g, opt_d = trainer.prepare(generator, critic, opt_g, opt_d)
    bare = unwrap(generator)
    ema = trainer.make_ema(generator)
    sampler = CurriculumSampler(lat, lon, cfg.batch_size, cfg.seed, phases, phase_steps, cfg.place_images,
                                trainer.rank, trainer.world_size)
    selection = Selection()
    trainer.track(generator=generator, critic=critic, opt_g=opt_g, opt_d=opt_d, ema=ema, sampler=sampler,
                  selection=selection)
    pick = np.random.default_rng(cfg.seed + 1).choice(len(keep), min(cfg.select_points, len(keep)), replace=False)
    points = np.stack([lat[np.sort(pick)], lon[np.sort(pick)]], axis=1)  # fixed requested places, (P, 2) degrees
    trainer.set_sampler(generator, lambda m: samples_view(unwrap(m), points[:8]), ema, ncols=4)

    start = trainer.start()
    generator.train()
    critic.train()
    global_batch = cfg.batch_size * cfg.grad_accum * trainer.world_size
    batches = trainer.cache_batches(cache, sampler, rows=keep)
    for step in range(start + 1, trainer.last_step + 1):
        stage, alpha = growth((step - 1) * global_batch * cfg.n_critic, bare.num_stages, cfg.stage_images,
                              cfg.fade_images)
        size = bare.sizes[stage]
        logged = train_step(trainer, (generator, critic), (opt_g, opt_d), batches, cache, cfg, (stage, size, alpha))
        bare.export_stage = stage if alpha >= 1.0 else stage - 1  # the export never shows a half-faded block
        ema.update(generator)
        logged.update(stage=float(stage), alpha=float(alpha), places=float(sampler.places[sampler.phase]))
        if judge is not None and cfg.select_every > 0 and (step % cfg.select_every == 0 or step == cfg.steps):
            final_stage = stage == bare.num_stages - 1 and alpha >= 1.0
            judge_and_select(trainer, judge, bare, ema, selection, points, step, final_stage, logged)
        if not trainer.step_done(step, logged):
            break  # --time-limit reached

    finishing = trainer.step >= cfg.steps or trainer.timed_out
    metrics = selected_metrics(selection, ema) if finishing else {}
    size = bare.sizes[int(ema.shadow["stage_buffer"][0])]
    card = model_card(cfg, len(cache), len(keep), size, selection, metrics, from_meta(cache.meta))
    return trainer.finish(generator, card=card, ema=ema)


if __name__ == "__main__":
    main(sys.argv[1:])
