"""The conditional VAE of the original country → street study, built as it was described.

Encoder: 3 conv layers (3×3, stride 2, padding 1), each with BatchNorm and LeakyReLU; the one-hot country goes
through a fully connected label embedding; the flattened image features are concatenated with the embedded label
→ FC + ReLU → FC heads for the mean and log-variance. Decoder: the embedded label is concatenated again with z →
FC → transposed convs (3×3 stride 1, then stride 2, both with BN + LeakyReLU, then a stride-2 transposed conv) →
sigmoid. The study's listed improvements (larger latent and label embedding, larger images) are init arguments.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.models.base import StreetgenModel


class CountryCVAE(StreetgenModel, architecture="country_cvae"):
    """128×128 (by default) images conditioned on a country index; outputs in [0, 1]. Drawing latents for a seed
    and decoding them is `streetgen.pipelines.country.sample_cvae`."""

    def __init__(self, countries: list[str] | None = None, image_size: int = 128, latent_dim: int = 64,
                 embed_dim: int = 32, channels: tuple[int, int, int] | list[int] = (32, 64, 64), hidden: int = 256):
        super().__init__()
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
        self.countries = list(countries or [])
        self.image_size = image_size
        self.latent_dim = latent_dim
        c1, c2, c3 = channels
        n = max(len(self.countries), 1)
        act = lambda: nn.LeakyReLU(0.2, inplace=True)  # noqa: E731
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c1, 3, 2, 1), nn.BatchNorm2d(c1), act(),
            nn.Conv2d(c1, c2, 3, 2, 1), nn.BatchNorm2d(c2), act(),
            nn.Conv2d(c2, c3, 3, 2, 1), nn.BatchNorm2d(c3), act(), nn.Flatten())
        self.enc_grid = image_size // 8
        self.label_embed = nn.Linear(n, embed_dim)  # the one-hot country, as in the study (= an embedding table)
        self.enc_fc = nn.Sequential(nn.Linear(c3 * self.enc_grid ** 2 + embed_dim, hidden), nn.ReLU(inplace=True))
        self.fc_mu = nn.Linear(hidden, latent_dim)
        self.fc_logvar = nn.Linear(hidden, latent_dim)
        # The decoder starts at a quarter of the image size: stride 1, then two stride-2 upsamplings.
        self.dec_channels = c2
        self.dec_grid = image_size // 4
        self.dec_fc = nn.Linear(latent_dim + embed_dim, c2 * self.dec_grid ** 2)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(c2, c2, 3, 1, 1), nn.BatchNorm2d(c2), act(),
            nn.ConvTranspose2d(c2, c1, 3, 2, 1, output_padding=1), nn.BatchNorm2d(c1), act(),
            nn.ConvTranspose2d(c1, 3, 3, 2, 1, output_padding=1), nn.Sigmoid())

    def embed(self, country: torch.Tensor) -> torch.Tensor:
        """Country indices (B,) or soft mixtures (B, n) → label embeddings (mixtures let you morph countries)."""
        onehot = F.one_hot(country, self.label_embed.in_features).float() if country.dim() == 1 else country
        return self.label_embed(onehot)

    def encode(self, images: torch.Tensor, country: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z | images, country)."""
        h = self.enc_fc(torch.cat([self.encoder(images), self.embed(country)], dim=1))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor, country: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] for latents z (B, latent_dim) and country indices or mixtures."""
        h = self.dec_fc(torch.cat([z, self.embed(country)], dim=1))
        return self.decoder(h.view(-1, self.dec_channels, self.dec_grid, self.dec_grid))

    def forward(self, images: torch.Tensor, country: torch.Tensor):
        """Reconstruction, mean, log-variance (the reparameterisation trick draws z)."""
        mu, logvar = self.encode(images, country)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decode(z, country), mu, logvar

    @property
    def latent_shape(self) -> tuple[int]:
        """Shape of one image's latent z: (latent_dim,)."""
        return (self.latent_dim,)


def cvae_loss(recon: torch.Tensor, images: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
              kl_weight: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """MSE reconstruction + kl_weight × KL(q(z|x,c) || N(0, I)), both per image; returns (total, mse, kl)."""
    mse = F.mse_loss(recon, images, reduction="sum") / images.shape[0]
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / images.shape[0]
    return mse + kl_weight * kl, mse, kl
