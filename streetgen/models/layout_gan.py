"""Street layouts from noise: a StyleGAN2-style generator of segmentation maps over the 11 CamVid classes.

    g = LayoutGenerator()                        # 4×8 constant → 128×256 logits
    labels = g(torch.randn(4, g.z_dim)).argmax(dim=1)                  # (4, 128, 256) int64 in 0..10
    rgb = streetgen.classes.colorize_labels(labels.numpy())              # exactly palette colours

The parts, as in StyleGAN2 (Karras et al. 2020), scaled down to what a label map needs:
- mapping network: z → pixel norm → `mapping_layers` equalised linear layers (lr multiplier 0.01) → w. w_avg, the
  running mean of w seen in training, is the centre that truncation pulls towards;
- synthesis: a learned constant at 1/32 of the output size (4×8 for 128×256, so the training aspect is built in),
  then one block per doubling: bilinear ×2, two modulated 3×3 convs. Each conv is modulated by a per-layer affine
  of w and demodulated, takes per-pixel noise with a learned per-channel strength, and is followed by a leaky ReLU;
- output: a "toLogits" 1×1 modulated conv per resolution; the upsampled logits of each resolution are summed into
  the next (the skip architecture), so coarse resolutions decide the layout and fine ones only correct it.

Void (CamVid's "unlabelled", world id 11) is not a class here: `num_classes=11` covers Sky … Bicyclist, so argmax
never yields void and every generated pixel has a real palette colour. Training data fills void pixels with the
nearest labelled class (train/train_layout_gan.py) so the discriminator never sees a colour the generator cannot make.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.classes import NUM_CLASSES
from streetgen.models.base import StreetgenModel

LRELU_GAIN = math.sqrt(2)  # keeps unit variance through leaky ReLU(0.2), as StyleGAN's bias_act does


class EqualLinear(nn.Module):
    """Linear layer with the equalised learning rate: N(0, 1/lr_mul²) weights scaled by lr_mul/sqrt(fan_in) at use.

    Why: with Adam every weight moves at the same relative speed whatever its fan-in; lr_mul < 1 slows a layer
    down (the mapping network trains 100× slower than the synthesis, which keeps w stable).
    """

    def __init__(self, cin: int, cout: int, bias_init: float = 0.0, lr_mul: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init)) / lr_mul)
        self.w_gain, self.b_gain = lr_mul / math.sqrt(cin), lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.w_gain, self.bias * self.b_gain)


class EqualConv2d(nn.Module):
    """Conv2d (stride 1, 'same' padding) with the equalised learning rate; the discriminator's layer."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale = 1 / math.sqrt(cin * kernel * kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


def pixel_norm(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Scale each vector to unit RMS along `dim`."""
    return x * torch.rsqrt(x.pow(2).mean(dim=dim, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    """3×3 (or 1×1) conv whose input channels are scaled per sample by an affine of w, then demodulated.

    Demodulation divides each output channel by the norm its modulated weights would have, so for unit-variance
    inputs the output has unit variance whatever the style: styles change which features fire, not how loudly.
    Written as scale-input → shared conv → scale-output instead of building per-sample weights for a grouped conv:
    the same maths, one code path for training and inference, and on CPU no slower (measured at batch 1 and 4).
    """

    def __init__(self, cin: int, cout: int, w_dim: int, kernel: int = 3, demodulate: bool = True):
        super().__init__()
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)  # styles start at 1: an unmodulated conv
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.scale = 1 / math.sqrt(cin * kernel * kernel)
        self.demodulate = demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        styles = self.affine(w)  # (B, cin)
        weight = self.weight * self.scale
        x = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
        b = torch.zeros((), dtype=x.dtype, device=x.device) if bias is None else bias[None, :, None, None].to(x.dtype)
        if self.demodulate:
            # ‖W_o ⊙ s‖ per sample and output channel: sum over (cin, k, k) of W² s²
            d = torch.rsqrt(styles.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t() + 1e-8)  # (B, cout)
            return torch.addcmul(b, x, d[:, :, None, None].to(x.dtype))  # b + x·d in one pass over the map
        return x + b


class SynthesisLayer(nn.Module):
    """Modulated conv → + noise × per-channel strength → + bias → leaky ReLU (gain √2)."""

    def __init__(self, cin: int, cout: int, w_dim: int, size: tuple[int, int]):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros(cout))  # starts silent; training decides how much to use
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("noise_const", torch.randn(1, 1, *size))  # saved, so "const" is the same after load

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random",
                generator: torch.Generator | None = None) -> torch.Tensor:
        x = self.conv(x, w, self.bias)  # conv + bias first: the noise term is a sum, so the order is free
        if noise_mode == "random":
            shape = (x.shape[0], 1, x.shape[2], x.shape[3])
            device = generator.device if generator is not None else x.device
            noise = torch.randn(shape, generator=generator, device=device).to(x.device, x.dtype)
        elif noise_mode == "const":
            noise = self.noise_const.to(x.dtype)
        elif noise_mode == "none":
            noise = None
        else:
            raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {noise_mode!r}")
        if noise is not None:
            x = torch.addcmul(x, noise, self.noise_strength[None, :, None, None].to(x.dtype))
        if not torch.is_grad_enabled():  # in place: no autograd to keep the pre-activation for
            return F.leaky_relu_(x, 0.2).mul_(LRELU_GAIN)
        return F.leaky_relu(x, 0.2) * LRELU_GAIN


class ToLogits(nn.Module):
    """1×1 modulated conv without demodulation: features → class logits at one resolution."""

    def __init__(self, cin: int, num_classes: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(cin, num_classes, w_dim, kernel=1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(num_classes))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w, self.bias)


def default_channels(num_blocks: int, max_channels: int = 256, last: int = 16) -> list[int]:
    """Widths from the constant (block 0) to the output: `last` at full resolution, doubling per halving, capped.

    Six blocks (4×8 … 128×256) → 256, 256, 128, 64, 32, 16: wide where the layout is decided, thin at full
    resolution where only class boundaries are drawn (the CPU-latency budget is spent there).
    """
    return [min(max_channels, last * 2 ** (num_blocks - 1 - k)) for k in range(num_blocks)]


class LayoutGenerator(StreetgenModel, architecture="layout_gan"):
    """Unconditional generator of (B, num_classes, H, W) logits; label maps are their argmax
    (`streetgen.pipelines.layout.sample_layouts` draws the latents for a seed)."""

    def __init__(self, size: tuple[int, int] | list[int] = (128, 256), num_classes: int = NUM_CLASSES,
                 z_dim: int = 128, w_dim: int = 256, mapping_layers: int = 4, start_size: tuple[int, int] |
                 list[int] | None = None, channels: list[int] | None = None, mapping_lr_mul: float = 0.01,
                 w_avg_beta: float = 0.995):
        super().__init__()
        h, w = (int(v) for v in size)
        sh, sw = (int(v) for v in start_size) if start_size is not None else (h // 32, w // 32)
        if sh < 1 or sw < 1 or h % sh or w % sw or h // sh != w // sw or (h // sh) & (h // sh - 1):
            raise ValueError(f"size {h}×{w} must be start_size {sh}×{sw} times a power of two")
        self.size, self.start_size = (h, w), (sh, sw)
        self.num_classes, self.z_dim, self.w_dim, self.w_avg_beta = num_classes, z_dim, w_dim, w_avg_beta
        num_blocks = int(math.log2(h // sh)) + 1
        channels = list(channels) if channels is not None else default_channels(num_blocks)
        if len(channels) != num_blocks:
            raise ValueError(f"channels needs {num_blocks} widths ({sh}×{sw} → {h}×{w}), got {len(channels)}")
        self.channels = channels

        layers: list[nn.Module] = []
        for i in range(mapping_layers):
            layers.append(EqualLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=mapping_lr_mul))
        self.mapping = nn.ModuleList(layers)
        self.register_buffer("w_avg", torch.zeros(w_dim))

        self.const = nn.Parameter(torch.randn(channels[0], sh, sw))
        self.convs = nn.ModuleList()  # block 0: one conv; block k ≥ 1: two (the first after the ×2 upsample)
        self.to_logits = nn.ModuleList()
        for k, c in enumerate(channels):
            res = (sh * 2 ** k, sw * 2 ** k)
            if k > 0:
                self.convs.append(SynthesisLayer(channels[k - 1], c, w_dim, res))
            self.convs.append(SynthesisLayer(c, c, w_dim, res))
            self.to_logits.append(ToLogits(c, num_classes, w_dim))
        self.num_ws = len(self.convs) + 1  # one w per conv, plus the last toLogits (StyleGAN2's count)

    # ---- mapping --------------------------------------------------------------------------------------------------
    def map(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """z (B, z_dim) → w (B, w_dim); tracks w_avg in training mode; truncation lerps w towards w_avg."""
        x = pixel_norm(z.to(self.const.dtype))
        for layer in self.mapping:
            x = F.leaky_relu(layer(x), 0.2) * LRELU_GAIN
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        if truncation != 1.0:
            x = self.w_avg.to(x.dtype).lerp(x, truncation)
        return x

    # ---- synthesis ------------------------------------------------------------------------------------------------
    def synthesize(self, ws: torch.Tensor, noise_mode: str = "random",
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """ws (B, num_ws, w_dim) → logits (B, num_classes, H, W)."""
        x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
        logits = None
        i = 0  # index of the next conv, which is also its w's index
        for k, to_logits in enumerate(self.to_logits):
            if k > 0:
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
                x = self.convs[i](x, ws[:, i], noise_mode, generator)
                i += 1
            x = self.convs[i](x, ws[:, i], noise_mode, generator)
            i += 1
            y = to_logits(x, ws[:, i])  # toLogits shares the next conv's w (the last one has its own)
            logits = y if logits is None else y + F.interpolate(logits, scale_factor=2, mode="bilinear",
                                                                  align_corners=False)
        return logits

    def forward(self, z: torch.Tensor, truncation: float = 1.0, noise_mode: str = "random",
                generator: torch.Generator | None = None, mix_z: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, num_classes, H, W) for latents z (B, z_dim).

        noise_mode: "random" (drawn from `generator`, or the global RNG), "const" (the saved noise maps: fully
        deterministic), "none". mix_z: style mixing (training regulariser): the layers from a random cut-off on
        take their w from mix_z, so neighbouring layers cannot rely on sharing one style.
        """
        w = self.map(z, truncation)
        ws = w.unsqueeze(1).repeat(1, self.num_ws, 1)
        if mix_z is not None:
            device = generator.device if generator is not None else z.device
            cut = int(torch.randint(1, self.num_ws, (), generator=generator, device=device))
            ws[:, cut:] = self.map(mix_z, truncation).unsqueeze(1)
        return self.synthesize(ws, noise_mode, generator)

    @property
    def latent_shape(self) -> tuple[int]:
        return (self.z_dim,)
