"""Country → street: images of a country from a country-conditioned model (the study's CVAE, or the diffusion model).

The pipeline knows its model's kind: a CVAE is sampled by drawing latents for the seed and decoding them
(`sample_cvae`), a diffusion model by `streetgen.sampling.sample_diffusion`, whose options (steps, guidance,
solver, …) pass straight through.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from streetgen import geo
from streetgen.pipelines.base import Pipeline, chunk_spans, to_uint8
from streetgen.specs import parse_spec
from streetgen.validate import check_seed

if TYPE_CHECKING:
    import torch

MAX_IMAGES = 16
GUIDE_SCALE = 0.0  # classifier-guidance scale a pipeline with a guide uses unless told (measured: see the guide's card)
AUTOGUIDE_SCALE = 3.0  # autoguidance scale a pipeline with an autoguide uses unless told (measured: docs/results.md)


def sample_cvae(model: Any, labels: torch.Tensor, generator: torch.Generator | None = None,
                latents: torch.Tensor | None = None) -> torch.Tensor:
    """Images (B, 3, H, W) in [0, 1] from a `CountryCVAE` for country indices or mixtures: z ~ N(0, I) drawn from
    `generator` (on the CPU) unless `latents` is given, decoded on the model's device."""
    import torch

    with torch.no_grad():
        z = latents if latents is not None else torch.randn(labels.shape[0], model.latent_dim, generator=generator)
        device = model.label_embed.weight.device
        return model.decode(z.to(device), labels.to(device))


class CountryPipeline(Pipeline):
    """`pipe("JP", n=4, seed=0)` → list of uint8 (H, W, 3) images; the same seed gives the same images."""

    parts = ("model", "guide", "autoguide")
    default_spec = "cvae"

    def __init__(self, model, guide=None, autoguide=None) -> None:
        from streetgen.models.country_diffusion import CountryDiffusion

        super().__init__(model)
        self.countries: list[str] = list(model.countries)
        self.diffusion = isinstance(model, CountryDiffusion)
        if guide is not None:
            if not self.diffusion:
                raise ValueError(f"{type(model).__name__} takes no classifier guide")
            guide.check_matches(model)
        if autoguide is not None:
            if not self.diffusion:
                raise ValueError(f"{type(model).__name__} takes no autoguide")
            model.check_autoguide(autoguide)
        self.guide = guide.eval() if guide is not None else None
        self.autoguide = autoguide.eval() if autoguide is not None else None

    @classmethod
    def from_pretrained(cls, name: str = "cvae", guide: str | None = None,
                        autoguide: str | None = None) -> "CountryPipeline":
        """A country model by name. For the diffusion model, `guide` names a noise-aware country classifier (e.g.
        "country_guide": classifier guidance, `guide_scale` > 0 in a call) and `autoguide` a weaker version of it
        (e.g. "country_diffusion_early": autoguidance at AUTOGUIDE_SCALE unless a call says otherwise).
        "model+other[+other]" names them at once; each other part is told apart by what it is."""
        import streetgen

        from streetgen.models.country_diffusion import CountryDiffusion

        name, *others = parse_spec(name)
        loaded = {"guide": streetgen.load(guide) if guide else None,
                  "autoguide": streetgen.load(autoguide) if autoguide else None}
        for other in others:
            part = streetgen.load(other)
            role = "autoguide" if isinstance(part, CountryDiffusion) else "guide"
            if loaded[role] is not None:
                raise ValueError(f"{name!r} was given two {role}s; name at most one of each")
            loaded[role] = part
        return cls(streetgen.load(name), **loaded)

    def index(self, country: str) -> int:
        """Model index of a country given as ISO code or English name; clear errors for unknown or unsupported."""
        code = geo.country(country).iso2
        if code not in self.countries:
            raise ValueError(f"{geo.country(code).name} is not one of the {len(self.countries)} countries this "
                             f"model was trained on")
        return self.countries.index(code)

    @property
    def guided(self) -> bool:
        """Whether the model takes a classifier-free `guidance` option (how strongly the country is followed)."""
        return self.diffusion

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None,
               latents: torch.Tensor | None = None, progress: Callable[[int, int], None] | None = None,
               **options: Any) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] for label weights (B, n) from this pipeline's model, by its kind's sampler
        (diffusion options pass through; a CVAE takes none)."""
        import torch

        options = self._options(options, progress)
        with torch.no_grad():
            if not self.diffusion:
                return sample_cvae(self.model, labels, generator=generator, latents=latents, **options)
            from streetgen.sampling import sample_diffusion

            return sample_diffusion(self.model, labels, generator=generator, latents=latents, **options)

    def _options(self, options: dict, progress) -> dict:
        """Sampler options: `progress(done, total)` is forwarded to diffusion (a CVAE has no steps); a
        `guide_scale` above 0 brings this pipeline's guide (an error if it has none), an `autoguide_scale` above 0
        its autoguide."""
        if progress is not None and self.diffusion:
            options = {**options, "progress": progress}
        if self.guide is not None and "guide_scale" not in options:
            options = {**options, "guide_scale": GUIDE_SCALE}
        if options.get("guide_scale"):
            if self.guide is None:
                raise ValueError("guide_scale needs a country guide: load the pipeline with guide=\"country_guide\"")
            options = {**options, "guide": self.guide}
        if self.autoguide is not None and "autoguide_scale" not in options:
            options = {**options, "autoguide_scale": AUTOGUIDE_SCALE}
        if options.get("autoguide_scale"):
            if self.autoguide is None:
                raise ValueError("autoguide_scale needs an autoguide: load the pipeline with "
                                 "autoguide=\"country_diffusion_early\"")
            options = {**options, "autoguide": self.autoguide}
        return options

    def __call__(self, country: str, n: int = 4, seed: int = 0, mix: tuple[str, float] | None = None,
                 progress=None, **options) -> list[np.ndarray]:
        """n images of `country`; `mix=(other, t)` blends the label toward another country (0 ≤ t ≤ 1).

        `progress(step, total)` is called per denoising step by models that have steps (diffusion)."""
        import torch

        if not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_IMAGES:
            raise ValueError(f"n must be an integer between 1 and {MAX_IMAGES}, got {n!r}")
        check_seed(seed)
        k = len(self.countries)
        label = torch.zeros(n, k)
        label[:, self.index(country)] = 1.0
        if mix is not None:
            other, t = mix
            if not 0.0 <= float(t) <= 1.0:
                raise ValueError(f"mix weight must be in [0, 1], got {t!r}")
            label *= 1 - float(t)
            label[:, self.index(other)] += float(t)
        g = torch.Generator().manual_seed(int(seed))
        return to_uint8(self.sample(label, generator=g, progress=progress, **options))

    def batched(self, requests: list[tuple[str, int]], batch: int = 64, **options) -> list[np.ndarray]:
        """One image per (country, seed) request: what `pipe(country, n=1, seed=seed)` gives, `batch` at a time.

        Why: an evaluation asks for thousands of single images, and one call each leaves a GPU idle between tiny
        batches. The seed fixes only the starting noise here, so samplers that draw noise on the way (sde-dpm, a
        start_spread above 0) go one call per request instead, and every sampler gives the images one call would
        (up to float rounding in batched arithmetic)."""
        import torch

        if not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        noisy_on_the_way = options.get("solver") == "sde-dpm" or (options.get("start_spread", 0) and self.diffusion)
        if noisy_on_the_way:
            return [self(country, n=1, seed=seed, **options)[0] for country, seed in requests]
        k = len(self.countries)
        rows = [(self.index(country), check_seed(seed)) for country, seed in requests]
        images: list[np.ndarray] = []
        for i in range(0, len(rows), int(batch)):
            chunk = rows[i:i + int(batch)]
            label = torch.zeros(len(chunk), k)
            label[torch.arange(len(chunk)), torch.tensor([c for c, _ in chunk])] = 1.0
            # the noise a one-image call draws first from its seed's generator
            z = torch.cat([torch.randn((1, *self.model.latent_shape), generator=torch.Generator().manual_seed(s))
                           for _, s in chunk])
            out = self.sample(label, latents=z, generator=torch.Generator().manual_seed(chunk[0][1]), **options)
            images += to_uint8(out)
        return images

    @property
    def stream_chunk(self) -> int | tuple[int, ...] | None:
        """Frames per sampler call when a morph is streamed (`iter_morph`'s chunk): for diffusion the first frame
        alone (it comes after a 16th of the morph's time) and then five at a time (one frame per call made the
        whole morph about twice as slow on 2 busy CPU cores: docs/results.md); None (all at once) for the CVAE,
        which decodes a whole morph in milliseconds."""
        return (1, 5) if self.diffusion else None

    def morph(self, country_a: str, country_b: str, frames: int = 16, seed: int = 0, progress=None,
              **options) -> list[np.ndarray]:
        """One latent, the label walked from country A to country B: `frames` images (for an animated GIF)."""
        return list(self.iter_morph(country_a, country_b, frames=frames, seed=seed, progress=progress, **options))

    def iter_morph(self, country_a: str, country_b: str, frames: int = 16, seed: int = 0,
                   chunk: int | tuple[int, ...] | None = None, progress: Callable[[int, int], None] | None = None,
                   **options: Any) -> Iterator[np.ndarray]:
        """`morph`'s frames in order, each yielded as soon as it exists; arguments are checked at the call, before
        the first frame. The sampler runs on `chunk` frames at a time (a tuple: those sizes in turn, the last
        repeated, as `chunk_spans`; None: all at once, exactly `morph`); smaller chunks start from the same noise
        and give the same frames up to float rounding in batched arithmetic. `progress(done, total)` counts the
        denoising steps of every chunk together."""
        import torch

        if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or not 2 <= frames <= 64:
            raise ValueError(f"frames must be an integer between 2 and 64, got {frames!r}")
        check_seed(seed)
        a, b = self.index(country_a), self.index(country_b)
        spans = chunk_spans(int(frames), chunk)
        if self.diffusion and options.get("shared_noise") is False:
            spans = [(0, int(frames))]  # each frame draws its own noise on the way: only one call draws it alike
        t = torch.linspace(0, 1, int(frames))[:, None]
        label = torch.zeros(int(frames), len(self.countries))
        label[:, a] += 1 - t[:, 0]
        label[:, b] += t[:, 0]
        g = torch.Generator().manual_seed(int(seed))
        z = torch.randn((1, *self.model.latent_shape), generator=g)
        return self._morph_frames(label, z, g, spans, progress, options)

    def _morph_frames(self, label: torch.Tensor, z: torch.Tensor, g: torch.Generator, spans: list[tuple[int, int]],
                      progress: Callable[[int, int], None] | None, options: dict) -> Iterator[np.ndarray]:
        """The frames of `iter_morph`, one sampler call per span of `label` rows."""
        import torch

        state = g.get_state()
        for i, (start, stop) in enumerate(spans):
            span_options = options
            if self.diffusion:
                # stochastic samplers and start priors: the same draws in every frame, from this seed's generator
                # as it stands after the latent (each span starts from that state, as one call of all would)
                gen = torch.Generator()
                gen.set_state(state)
                span_options = {"shared_noise": True, "generator": gen, **options}
            steps = None if progress is None else _span_progress(progress, i, len(spans))
            images = self.sample(label[start:stop], latents=z.expand(stop - start, *self.model.latent_shape),
                                 progress=steps, **span_options)
            yield from to_uint8(images)


def _span_progress(progress: Callable[[int, int], None], span: int, spans: int) -> Callable[[int, int], None]:
    """A sampler's per-call progress as progress over `spans` calls, this being call number `span`."""
    return lambda done, total: progress(span * total + done, spans * total)


def country_grid(pipe: CountryPipeline, countries: list[str], n: int = 4, seed: int = 0,
                 **options) -> np.ndarray:
    """One row per country, n samples each (the same seeds in every row), as one uint8 image with labels."""
    from PIL import Image, ImageDraw

    rows = [pipe(c, n=n, seed=seed, **options) for c in countries]
    h, w = rows[0][0].shape[:2]
    label_w = 40
    sheet = Image.new("RGB", (label_w + n * (w + 2), len(rows) * (h + 2)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (code, images) in enumerate(zip(countries, rows)):
        draw.text((4, r * (h + 2) + h // 2 - 6), geo.country(code).iso2, fill="black")
        for k, im in enumerate(images):
            sheet.paste(Image.fromarray(im), (label_w + k * (w + 2), r * (h + 2)))
    return np.asarray(sheet)


def main(argv: list[str] | None = None) -> None:
    """`python -m streetgen.pipelines.country --model country_diffusion --out grid.png`: countries × samples."""
    import argparse

    from PIL import Image

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--model", default="country_diffusion")
    p.add_argument("--countries", default="JP,US,NO,IN,MA,BR,RU,KE")
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="country_grid.png")
    args = p.parse_args(argv)
    grid = country_grid(CountryPipeline.from_pretrained(args.model), args.countries.split(","), args.n, args.seed)
    Image.fromarray(grid).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
