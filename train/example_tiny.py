"""Tiny end-to-end trainer: a 2-layer conv denoising autoencoder on synthetic stripes, using every train.common helper.

It is the template for real trainers (config dataclass -> CLI, explicit loop, Trainer for the bookkeeping) and
the subject of tests/train/test_train_loop.py and tests/train/test_multiprocess.py. Runs in seconds on a CPU:

    python -m train.example_tiny --name tiny --steps 200 --device cpu
    accelerate launch --multi_gpu --num_processes 2 -m train.example_tiny --name tiny2 --device cpu
    python -m train.example_tiny --name tiny --steps 400      # resumes runs/tiny at step 200, trains to 400

Multi-GPU / multi-node launch commands: see train/common/loop.py.
"""
from __future__ import annotations

import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.models.base import StreetgenModel
from streetgen.models.card import ModelCardInfo
from train.common.loop import TrainConfig, Trainer, parse_config


@dataclass
class TinyConfig(TrainConfig,
                 name="example_tiny", steps=200, log_every=5, ckpt_every=50, sample_every=50,
                 ema_decay=0.99, ema_warmup=20):
    """Tiny denoising autoencoder on synthetic images (an example of the train.common machinery)."""

    # data
    n_images: int = 256  # synthetic stripe images, a function of --seed
    image_size: int = 16  # their side in pixels
    # model
    width: int = field(default=8, metadata={"shape": True, "help": "channels of the one hidden layer"})
    # optimisation
    lr: float = 3e-3  # AdamW peak learning rate
    warmup_steps: int = 10  # linear warmup, then cosine decay to 10 %
    grad_clip: float = 1.0  # max gradient norm; 0 = no clipping
    # augmentation: draws from the python and torch RNGs, so resume has to restore both to replay exactly
    noise_std: float = 0.1  # the denoising task's noise
    flip_p: float = 0.5  # probability of a horizontal flip per batch


# ---- network ------------------------------------------------------------------------------------------------------
class TinyAutoencoder(StreetgenModel, architecture="example_tiny_ae"):
    """3 x H x W in [-1, 1] -> width x H/2 x W/2 -> 3 x H x W."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.enc = nn.Conv2d(3, width, 3, stride=2, padding=1)
        self.dec = nn.ConvTranspose2d(width, 3, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct (denoise) a batch in [-1, 1]."""
        return torch.tanh(self.dec(F.silu(self.enc(x))))


# ---- data ---------------------------------------------------------------------------------------------------------
def synthetic_images(n: int, size: int, seed: int) -> torch.Tensor:
    """n RGB images of oriented colour stripes, float32 N x 3 x size x size in [-1, 1]; a function of `seed` only."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, np.pi, n)[:, None, None]
    freq = rng.uniform(1, 4, n)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, n)[:, None, None]
    wave = np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
    colour = rng.uniform(-1, 1, (n, 3, 1, 1))
    return torch.from_numpy((wave[:, None] * colour).astype(np.float32))


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] N x 3 x H x W -> uint8 N x H x W x 3."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def make_samples(model: nn.Module, inputs: torch.Tensor, noise_std: float) -> tuple[np.ndarray, list[str]]:
    """Clean / noisy / reconstructed triplets for a fixed set of images (fixed noise, so grids compare)."""
    device = next(model.parameters()).device
    x = inputs.to(device)
    noisy = x + noise_std * torch.randn(x.shape, generator=torch.Generator().manual_seed(0)).to(device)
    out = model(noisy).float()
    triplets = torch.stack([x, noisy, out], dim=1).flatten(0, 1)
    return to_uint8(triplets), ["clean", "noisy", "out"] * len(x)


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warmup, then cosine decay to 10 %."""
    if step < warmup:
        return (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


# ---- training -----------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns the export folder on the main process once --steps is reached."""
    cfg = parse_config(TinyConfig, argv)
    trainer = Trainer(cfg, argv, entry="train.example_tiny")
    accelerator = trainer.accelerator

    data = synthetic_images(cfg.n_images, cfg.image_size, cfg.seed)  # same on every rank; the sampler shards it
    model = TinyAutoencoder(width=cfg.width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg.warmup_steps, cfg.steps))
    model, optimizer = trainer.prepare(model, optimizer)
    ema = trainer.make_ema(model)  # after prepare: every rank's EMA starts from rank 0's weights
    sampler = trainer.make_sampler(len(data))
    trainer.track(model=model, optimizer=optimizer, scheduler=scheduler, ema=ema, sampler=sampler)
    trainer.set_sampler(model, lambda m: make_samples(m, data[:6], cfg.noise_std), ema, ncols=6)

    start = trainer.start()
    model.train()
    def micro_step() -> dict[str, torch.Tensor]:  # one --batch-size micro-batch; --grad-accum of them per step
        x = data[sampler.next()].to(trainer.device)
        if random.random() < cfg.flip_p:
            x = x.flip(-1)
        noisy = x + cfg.noise_std * torch.randn_like(x)
        return {"loss": F.mse_loss(model(noisy).float(), x)}

    for step in range(start + 1, trainer.last_step + 1):
        losses = trainer.accumulate(model, micro_step)  # backward per micro-batch; DDP averages over ranks
        if cfg.grad_clip > 0:
            accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        ema.update(model)
        if not trainer.step_done(step, losses, lr=scheduler.get_last_lr()[0]):
            break  # --time-limit reached

    card = ModelCardInfo(
        description="Example 2-layer convolutional denoising autoencoder (a test of the training machinery).",
        data=f"{cfg.n_images} synthetic {cfg.image_size}x{cfg.image_size} stripe images generated from seed {cfg.seed}",
        data_license="none needed (generated by train/example_tiny.py)", license="mit")
    return trainer.finish(model, card=card, ema=ema)


if __name__ == "__main__":
    main(sys.argv[1:])
