"""Train the SPADE layout → street generator (hinge GAN + feature matching + a judge perceptual term, TTUR).

    # world renders (made in memory, every region style), optionally conditioned on the region style:
    python -m train.train_spade --name spade_world --data world --per-country 60 --size 128x256 --region-style
    # the ten famous cities at 128², conditioned on the city (the City tab's layout route), from the world model:
    python -m train.train_spade --name spade_cities --cities all --per-city 300 --size 128x128 --init-from spade_world
    # real Cambridge streets (CamVid train, 367 photos; the export inherits CamVid's non-commercial licence):
    python -m train.train_spade --name spade_camvid --data camvid:../shared/datasets/camvid --size 128x160

Losses as the official code: hinge adversarial loss on a two-scale PatchGAN, discriminator feature matching
(weight 10), and a perceptual term; VGG is not reachable here, so the perceptual term compares the frozen place
judge's conv stages instead (train.losses.JudgePerceptualLoss). TTUR Adam: G 1e-4, D 4e-4, betas (0, 0.9).
An optional mode-seeking term (--diversity-weight) pushes two latents of one layout apart; feature matching pulls
every sample toward the one real photo, which is what makes SPADE generators ignore their noise.
Sample grids show, per layout: the label map | the real photo | the EMA generator at three seeds.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import streetgen
from streetgen import classes, geo, world
from streetgen.classes import NUM_IDS
from streetgen.data.licences import WORLD, source
from streetgen.models.card import ModelCardInfo
from streetgen.models.spade import SpadeGenerator
from train.common.data import (
    WorldRenderFields,
    country_list,
    crop_batch,
    load_camvid,
    render_city_images,
    render_world_arrays,
)
from train.common.loop import TrainConfig, Trainer, parse_config
from train.discriminators.spade import MultiscaleDiscriminator
from train.losses import (
    JudgePerceptualLoss,
    d_hinge_loss,
    feature_matching_loss,
    g_hinge_loss,
    mode_seeking_ratio,
)

CAMVID_LICENSE = source("camvid").text
SHOW_SEEDS = (0, 1, 2)


@dataclass
class SpadeConfig(WorldRenderFields, TrainConfig,
                  name="spade", steps=20000, log_every=50, ckpt_every=1000, sample_every=1000):
    """SPADE: one-hot street layout (+ style latent) → photo."""

    data: str = field(default="world", metadata={"help": "'world' (renders made in memory) or 'camvid:ROOT' "
                                                        "(ROOT/train/{images,labels})"})
    size: str = field(default="128x256", metadata={"help": "HEIGHTxWIDTH of training crops (multiples of 32)"})
    countries: str = field(default="", metadata={"help": "world: comma-separated ISO codes; empty = the judges' "
                                                         "~110 countries (every region style)"})
    per_country: int = field(default=60, metadata={"help": "world: renders per country"})
    camvid_limit: int = field(default=0, metadata={"help": "camvid: first N pairs only (smoke tests); 0 = all"})
    camvid_zoom: float = field(default=1.15, metadata={"help": "camvid: photos are loaded this much larger than "
                                                               "the smallest size covering a crop (random crops)"})
    lr_g: float = 1e-4  # generator Adam learning rate
    lr_d: float = 4e-4  # discriminator Adam learning rate (TTUR: 4x the generator's)
    beta1: float = 0.0  # Adam's first beta, both networks
    beta2: float = 0.9  # Adam's second beta, both networks
    fm_weight: float = 10.0  # discriminator feature-matching weight
    perceptual_weight: float = field(default=1.0, metadata={"help": "place-judge feature term; 0 = off"})
    perceptual_judge: str = "judges/place"  # checkpoint whose conv stages the perceptual term compares
    diversity_weight: float = field(default=0.0, metadata={"help": "mode-seeking term (two latents, one "
                                                                   "layout); 0 = off"})
    region_style: bool = field(default=False, metadata={"help": "world: condition on the region style"})
    cities: str = field(default="", metadata={"help": "famous cities (comma-separated, or 'all'): train on their "
                                                      "renders, conditioned on the city (the City tab's layout "
                                                      "route); replaces --countries and --region-style"})
    per_city: int = field(default=300, metadata={"help": "cities: renders per city"})
    init_from: str = field(default="", metadata={"help": "an exported SPADE checkpoint (folder or Hub id) to start "
                                                         "from; style rows it lacks start from their region "
                                                         "style's row (a city from its family's)"})
    style_drop: float = field(default=0.2, metadata={"help": "share of samples trained with the 'any' style"})
    channels: str = "256,256,128,64,32,32"  # generator widths from the 1/32 start to full size
    spade_hidden: int = 64  # hidden channels of each SPADE modulation
    latent_dim: int = 64  # style latent size
    d_width: int = 64  # discriminator first-layer channels
    d_layers: int = 4  # discriminator layers per scale
    d_scales: int = 2  # discriminator scales (full, 1/2, ...)


def parse_size(text: str) -> tuple[int, int]:
    """--size "HEIGHTxWIDTH" → (height, width)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise ValueError(f"--size must be HEIGHTxWIDTH, e.g. 128x256, got {text!r}") from err
    return h, w


class PairData:
    """Photos (N, h, w, 3) uint8 + labels (N, h, w) + region style (N,) or None; `batch` crops to (H, W)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, style: np.ndarray | None, size: tuple[int, int],
                 flip: bool, description: str):
        self.images, self.labels, self.style = images, labels, style
        self.size, self.flip, self.description = size, flip, description
        if images.shape[1] < size[0] or images.shape[2] < size[1]:
            raise ValueError(f"data is {images.shape[1]}x{images.shape[2]}, smaller than the crop {size}")

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, idx: np.ndarray, g: torch.Generator | None, device: torch.device):
        """[-1, 1] photos (B, 3, H, W), ids (B, H, W), styles (B,) or None; random crops/flips when g is given,
        centre crops otherwise."""
        x, y = crop_batch(self.images, self.labels, idx, self.size, self.flip, g, device)
        s = None if self.style is None else torch.from_numpy(self.style[idx]).long().to(device)
        return x, y, s


def parse_cities(text: str) -> list[str]:
    """Famous city names from 'all' or a comma-separated list (any case); ValueError naming an unknown one."""
    if text.strip().lower() == "all":
        return list(geo.FAMOUS_CITIES)
    by_lower = {c.lower(): c for c in geo.FAMOUS_CITIES}
    cities = []
    for name in (c.strip() for c in text.split(",") if c.strip()):
        if name.lower() not in by_lower:
            raise ValueError(f"--cities: unknown famous city {name!r}; choose from {', '.join(geo.FAMOUS_CITIES)}")
        cities.append(by_lower[name.lower()])
    return cities


def style_names(cfg: SpadeConfig) -> list[str] | None:
    """The generator's style table: the cities, the region styles, or none."""
    if cfg.cities:
        return parse_cities(cfg.cities)
    return list(world.FAMILIES) if cfg.region_style else None


def load_data(cfg: SpadeConfig, size: tuple[int, int]) -> tuple[PairData, bool]:
    """The training pairs and whether they are CamVid."""
    if cfg.data == "world" and cfg.cities:
        if size[0] != size[1]:
            raise ValueError(f"--cities renders square views; use --size {size[0]}x{size[0]}")
        cities = parse_cities(cfg.cities)
        parts = [render_city_images(c, cfg.per_city, size[0], cfg.data_seed, workers=cfg.render_workers or None)
                 for c in cities]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        style = np.repeat(np.arange(len(cities), dtype=np.int64), cfg.per_city)
        desc = (f"{len(images)} streetgen.world renders of famous cities at {size[0]}x{size[1]} ({len(cities)} "
                f"cities x {cfg.per_city}: {', '.join(cities)}; data seed {cfg.data_seed}), labels exact from the "
                "renderer")
        return PairData(images, labels, style, size, flip=False, description=desc), False
    if cfg.data == "world":
        countries = country_list(cfg.countries)
        arr = render_world_arrays(countries, cfg.per_country, size, cfg.data_seed, cfg.render_workers or None)
        desc = (f"{len(arr.images)} streetgen.world renders at {size[0]}x{size[1]} ({len(countries)} countries x "
                f"{cfg.per_country}, data seed {cfg.data_seed}), labels exact from the renderer")
        # no flips: a mirrored street swaps the driving side, which the world keeps per country
        return PairData(arr.images, arr.labels, arr.style, size, flip=False, description=desc), False
    if cfg.data.startswith("camvid:"):
        if cfg.region_style or cfg.cities:
            raise ValueError("--region-style and --cities need world data: CamVid photos have no region or city labels")
        root = cfg.data.split(":", 1)[1]
        H, W = size
        # the smallest height whose 4:3 frame covers the crop, zoomed a little so crops wander
        height = math.ceil(max(H, W * 360 / 480) * cfg.camvid_zoom)
        images, labels = load_camvid(root, "train", height=height, limit=cfg.camvid_limit)
        desc = (f"CamVid train ({len(images)} Cambridge street photos with SegNet 11-class labels, "
                f"{root}), resized to {images.shape[1]}x{images.shape[2]}, random {H}x{W} crops and flips")
        return PairData(images, labels, None, size, flip=True, description=desc), True
    raise ValueError(f"--data must be 'world' or 'camvid:ROOT', got {cfg.data!r}")


def one_hot(labels: torch.Tensor) -> torch.Tensor:
    """Label ids (B, H, W) → float one-hot maps (B, NUM_IDS, H, W), the generator's and discriminator's input."""
    return F.one_hot(labels, NUM_IDS).permute(0, 3, 1, 2).float().contiguous()


def samples_view(model: SpadeGenerator, data: PairData, show: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per shown layout: label map | real photo | three seeds (the EMA generator, eval mode)."""
    device = next(model.parameters()).device
    x, y, s = data.batch(show, None, device)
    rows = [classes.colorize_labels(y.cpu().numpy()), ((x + 1) * 127.5).round().clamp(0, 255).byte()
            .permute(0, 2, 3, 1).cpu().numpy()]
    for seed in SHOW_SEEDS:
        out = model.synthesize(y, generator=torch.Generator().manual_seed(seed), style=s if model.styles else None)
        rows.append((out * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy())
    imgs = np.stack(rows, 1).reshape(-1, *rows[0].shape[1:])
    captions = [c for i in range(len(show)) for c in ["layout", "real"] + [f"seed {k}" for k in SHOW_SEEDS]]
    return imgs, captions


def init_spade_from(model: SpadeGenerator, spec: str) -> list[str]:
    """Copy an exported SPADE's weights into `model` (same widths). The style table may differ: a style the source
    knows keeps its row, a city starts from its region style's row (streetgen.world's city specs), anything else
    from the source's "any" row. Returns the styles that were initialised from another row."""
    from streetgen.world.style import CITY_SPECS

    source = streetgen.load(spec)
    if getattr(source, "architecture", None) != model.architecture:
        raise ValueError(f"--init-from {spec} is a {type(source).__name__}, not a SPADE generator")
    theirs, ours = source.state_dict(), model.state_dict()
    body = [k for k in ours if not k.startswith("style_embed.")]
    wrong = [k for k in body if k not in theirs or theirs[k].shape != ours[k].shape]
    if wrong:
        raise ValueError(f"--init-from {spec}: {len(wrong)} tensors differ from this run's (e.g. {wrong[0]}); build "
                         f"the run with the checkpoint's widths: {dict(getattr(source, 'config', None) or {})}")
    model.load_state_dict({k: theirs[k] for k in body}, strict=False)
    borrowed = []
    if model.style_embed is not None and source.style_embed is not None:  # else the fresh rows stay
        src_styles = list(source.styles)
        src_rows = source.style_embed.weight.detach()
        with torch.no_grad():
            for i, name in enumerate(model.styles + ["any"]):
                family = CITY_SPECS.get(name, {}).get("family", name)
                j = (src_styles.index(name) if name in src_styles else
                     src_styles.index(family) if family in src_styles else len(src_styles))
                model.style_embed.weight[i] = src_rows[j]
                if name not in src_styles and name != "any":
                    borrowed.append(f"{name} ← {src_styles[j] if j < len(src_styles) else 'any'}")
    return borrowed


def build_generator(cfg: SpadeConfig, size: tuple[int, int], styles: list[str] | None) -> SpadeGenerator:
    """The generator, started from --init-from when given (printing which style rows were borrowed)."""
    channels = [int(c) for c in cfg.channels.split(",")]
    model = SpadeGenerator(num_classes=NUM_IDS, image_size=size, channels=channels, spade_hidden=cfg.spade_hidden,
                           latent_dim=cfg.latent_dim, styles=styles)
    if cfg.init_from:
        borrowed = init_spade_from(model, cfg.init_from)
        if borrowed:
            print("styles started from another row: " + ", ".join(borrowed), flush=True)
    return model


def model_card(cfg: SpadeConfig, size: tuple[int, int], styles: list[str] | None, data: PairData,
               camvid: bool) -> ModelCardInfo:
    """The export's card: what the generator maps, its conditioning, and the data's licence."""
    style_note = (f" Conditioned on the famous city ({', '.join(styles)}, plus 'any')." if cfg.cities else
                  " Conditioned on the region style (streetgen.world.FAMILIES, plus 'any')." if cfg.region_style
                  else "") + (f" Started from {cfg.init_from}." if cfg.init_from else "")
    return ModelCardInfo(
        description="SPADE generator: a street segmentation map (11 CamVid classes + void) and a style latent → a "
                    f"{size[0]}x{size[1]} street photo; a different seed gives a different photo.{style_note}",
        data=data.description,
        **(source("camvid") if camvid else WORLD).card_fields(),
        tags=["spade", "layout", "gan"] + (["camvid"] if camvid else ["world"]),
        notes=("Trained on CamVid: research and personal use only; no commercial use of the weights or outputs."
               if camvid else "Trained on procedural renders; real photos are out of domain."))


def train_step(trainer: Trainer, nets: tuple[nn.Module, nn.Module], opts: tuple[torch.optim.Optimizer, ...],
               draw: Callable[[], tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]], cfg: SpadeConfig,
               perceptual: nn.Module | None) -> dict[str, torch.Tensor]:
    """One optimizer step of the generator, then of the discriminator, each over --grad-accum micro-batches of
    `draw()` -> (photos, labels, style ids or None); D's micro-batches are G's, with G's fakes detached."""
    (model, disc), (opt_g, opt_d) = nets, opts
    seen: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def g_micro() -> dict[str, torch.Tensor]:  # one G call and one D call (DDP wants a single forward per backward)
        x, labels, style = draw()
        onehot = one_hot(labels)
        b = x.shape[0]
        k = b // 2 if cfg.diversity_weight > 0 else 0
        z = torch.randn(b + k, cfg.latent_dim, device=trainer.device)
        g_in = torch.cat([onehot, onehot[:k]]) if k else onehot
        s_in = None if style is None else (torch.cat([style, style[:k]]) if k else style)
        out = model(g_in, z, s_in)
        fake = out[:b]
        seen.append((x, onehot, fake.detach()))
        pred = disc(torch.cat([fake, x]), torch.cat([onehot, onehot]))
        pred_fake = [[t[:b] for t in scale] for scale in pred]
        pred_real = [[t[b:] for t in scale] for scale in pred]
        g_gan = g_hinge_loss(pred_fake)
        fm = feature_matching_loss(pred_real, pred_fake)
        loss_g = g_gan + cfg.fm_weight * fm
        logged = {"g_hinge": g_gan, "feature_matching": fm}
        if perceptual is not None:
            p = perceptual((fake.float() + 1) / 2, (x + 1) / 2)
            loss_g = loss_g + cfg.perceptual_weight * p
            logged["perceptual"] = p
        if k:  # mode seeking (Mao et al. 2019): two latents of one layout pushed apart
            ratio = mode_seeking_ratio(out[:k], out[b:], z[:k], z[b:])
            loss_g = loss_g + cfg.diversity_weight / (ratio + 1e-5)
            logged["diversity"] = ratio
        return {"objective": loss_g, "loss_g": loss_g, **logged}

    def d_micro() -> dict[str, torch.Tensor]:  # the same micro-batch's photos against its detached fakes
        x, onehot, fake = seen.pop(0)
        b = x.shape[0]
        pred = disc(torch.cat([fake, x]), torch.cat([onehot, onehot]))
        loss_d = d_hinge_loss([[t[b:] for t in scale] for scale in pred], [[t[:b] for t in scale] for scale in pred])
        return {"objective": loss_d, "loss_d": loss_d}

    g_logs = trainer.optimizer_step(model, opt_g, g_micro, objective="objective")
    # zeroing D's gradients first also drops those the generator step left behind
    d_logs = trainer.optimizer_step(disc, opt_d, d_micro, objective="objective")
    return {"loss_g": g_logs.pop("loss_g"), **d_logs, **g_logs}


def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns the export folder on the main process once --steps is reached."""
    cfg = parse_config(SpadeConfig, argv)
    trainer = Trainer(cfg, argv, entry="train.train_spade")
    size = parse_size(cfg.size)
    data, camvid = load_data(cfg, size)
    styles = style_names(cfg)
    model = build_generator(cfg, size, styles)
    disc = MultiscaleDiscriminator(NUM_IDS, cfg.d_width, cfg.d_layers, cfg.d_scales)
    # TTUR (Heusel et al.): the discriminator learns 4x faster instead of taking several steps per G step
    opt_g = torch.optim.Adam(model.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    model, disc, opt_g, opt_d = trainer.prepare(model, disc, opt_g, opt_d)
    ema = trainer.make_ema(model)
    perceptual = None
    if cfg.perceptual_weight > 0:
        perceptual = JudgePerceptualLoss(streetgen.load(cfg.perceptual_judge)).to(trainer.device)
    sampler = trainer.make_sampler(len(data))
    trainer.track(model=model, discriminator=disc, opt_g=opt_g, opt_d=opt_d, ema=ema, sampler=sampler)
    show = np.linspace(0, len(data) - 1, min(4, len(data))).astype(np.int64)
    trainer.set_sampler(model, lambda m: samples_view(m, data, show), ema, ncols=2 + len(SHOW_SEEDS))
    n_styles = len(styles or [])

    start = trainer.start()
    model.train()
    disc.train()
    for step in range(start + 1, trainer.last_step + 1):
        g = trainer.step_generator(step)  # crops: a resumed run draws the same ones

        def draw() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:  # one --batch-size micro-batch
            x, labels, style = data.batch(np.sort(sampler.next().numpy()), g, trainer.device)
            if styles:
                drop = torch.rand(x.shape[0], generator=g).to(trainer.device) < cfg.style_drop
                return x, labels, torch.where(drop, torch.full_like(style, n_styles), style)  # the "any" row
            return x, labels, None

        logged = train_step(trainer, (model, disc), (opt_g, opt_d), draw, cfg, perceptual)
        ema.update(model)
        if not trainer.step_done(step, logged, lr=cfg.lr_g):
            break  # --time-limit reached

    return trainer.finish(model, card=model_card(cfg, size, styles, data, camvid), ema=ema)


if __name__ == "__main__":
    main(sys.argv[1:])
