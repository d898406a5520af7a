"""Streaming generators (tiny models): iter_morph, iter_journey and iter_translate_frames yield their frames in
order, one model call at a time, and give what the list versions give; bad arguments fail at the call."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from streetgen.models.country_diffusion import CountryDiffusion
from streetgen.models.cvae import CountryCVAE
from streetgen.models.map_gan import MapGenerator
from streetgen.pipelines import CountryPipeline, MapPipeline, iter_translate_frames, translate_frames
from streetgen.pipelines.base import to_uint8
from streetgen.pipelines.map import great_circle, sample_map

COUNTRIES = ["FR", "JP", "KE"]
TINY_DIFFUSION = dict(image_size=16, block_out_channels=(8, 16), layers_per_block=1, attention=(False, True),
                      norm_num_groups=4)
TINY_MAP = dict(final_size=32, start_size=8, z_dim=16, context_dim=8, coord_bands=3, channels=[16, 8, 8])
PARIS, TOKYO = (48.8566, 2.3522), (35.6812, 139.7671)


def _cvae() -> CountryPipeline:
    torch.manual_seed(0)
    return CountryPipeline(CountryCVAE(countries=COUNTRIES, image_size=32, latent_dim=8, channels=(8, 8, 8),
                                       hidden=16))


def _diffusion() -> CountryPipeline:
    torch.manual_seed(0)
    model = CountryDiffusion(countries=COUNTRIES, **TINY_DIFFUSION)
    with torch.no_grad():  # countries far apart, so every frame of a morph differs from the next
        model.label_embed.weight.normal_(0, 3)
    return CountryPipeline(model)


def _one_call_morph(pipe: CountryPipeline, frames: int, seed: int, **options) -> list[np.ndarray]:
    """The morph as one sampler call over every frame (what `morph` did before it streamed)."""
    t = torch.linspace(0, 1, frames)[:, None]
    label = torch.zeros(frames, len(pipe.countries))
    label[:, pipe.index("FR")] += 1 - t[:, 0]
    label[:, pipe.index("KE")] += t[:, 0]
    g = torch.Generator().manual_seed(seed)
    z = torch.randn((1, *pipe.model.latent_shape), generator=g)
    if pipe.diffusion:
        options = {"shared_noise": True, "generator": g, **options}
    return to_uint8(pipe.sample(label, latents=z.expand(frames, *pipe.model.latent_shape), **options))


def _same(a: list[np.ndarray], b: list[np.ndarray], tolerance: int = 0) -> bool:
    return len(a) == len(b) and all(np.abs(x.astype(int) - y).max() <= tolerance for x, y in zip(a, b))


def _counting(pipe: CountryPipeline) -> list[int]:
    """Wrap the pipeline's sampler to record how many frames each call makes."""
    calls, sample = [], pipe.sample
    pipe.sample = lambda labels, **kw: calls.append(labels.shape[0]) or sample(labels, **kw)
    return calls


@pytest.mark.parametrize("make,options", [(_cvae, {}), (_diffusion, {"steps": 2}),
                                          pytest.param(_diffusion, {"steps": 2, "solver": "sde-dpm"},
                                                       marks=pytest.mark.slow)])
def test_iter_morph_streams_the_frames_of_morph(make, options):
    pipe = make()
    reference = _one_call_morph(pipe, 5, 3, **options)
    assert _same(pipe.morph("FR", "KE", frames=5, seed=3, **options), reference)  # bit for bit
    assert _same(list(pipe.iter_morph("FR", "KE", frames=5, seed=3, **options)), reference)
    assert not _same(reference[:1], reference[-1:])  # the frames do walk from one country to the other
    calls = _counting(pipe)
    stream = pipe.iter_morph("FR", "KE", frames=5, seed=3, chunk=(1, 3), **options)
    first = next(stream)
    assert calls == [1]  # only the first chunk was made before the first frame came
    rest = list(stream)
    assert calls == [1, 3, 1]
    # same noise in every chunk (the sde sampler draws on the way): equal up to float rounding of batch sizes
    assert _same([first, *rest], reference, tolerance=1)


def test_iter_morph_counts_progress_over_every_chunk():
    pipe = _diffusion()
    seen = []
    frames = list(pipe.iter_morph("FR", "JP", frames=3, seed=0, chunk=1, steps=2,
                                  progress=lambda done, total: seen.append((done, total))))
    assert len(frames) == 3 and seen == [(k, 6) for k in range(1, 7)]


@pytest.mark.parametrize("kwargs,message", [({"frames": 1}, "frames"), ({"seed": -1}, "seed"),
                                            ({"chunk": 0}, "chunk"), ({"chunk": 2.5}, "chunk"),
                                            ({"country_b": "Narnia"}, "Narnia")])
def test_iter_morph_checks_its_arguments_at_the_call(kwargs, message):
    pipe = _cvae()
    calls = _counting(pipe)
    args = {"country_a": "FR", "country_b": "JP", **kwargs}
    with pytest.raises(ValueError, match=message):
        pipe.iter_morph(**args)  # no next(): the error comes before any frame
    assert calls == []


def _map() -> MapPipeline:
    torch.manual_seed(0)
    return MapPipeline(MapGenerator(**TINY_MAP))


def test_iter_journey_streams_the_frames_of_journey():
    pipe = _map()
    z = torch.randn((1, *pipe.model.latent_shape), generator=torch.Generator().manual_seed(4))
    path = torch.from_numpy(great_circle(PARIS, TOKYO, 6))
    with torch.no_grad():
        reference = to_uint8(sample_map(pipe.model, path, latents=z.expand(6, *pipe.model.latent_shape)))
    assert _same(pipe.journey(PARIS, TOKYO, frames=6, seed=4), reference)
    assert _same(list(pipe.iter_journey(PARIS, TOKYO, frames=6, seed=4)), reference)
    assert not _same(reference[:1], reference[-1:])
    chunked = list(pipe.iter_journey(PARIS, TOKYO, frames=6, seed=4, chunk=1))
    assert _same(chunked, reference, tolerance=1)
    with pytest.raises(ValueError, match="frames"):
        pipe.iter_journey(PARIS, TOKYO, frames=1)
    with pytest.raises(ValueError, match="chunk"):
        pipe.iter_journey(PARIS, TOKYO, chunk=0)


def _fake_translator(calls: list):
    """A translator that re-invents grain every frame (seeded by seed and frame content), recording its calls."""
    def translate(frame: np.ndarray, seed: int = 0) -> np.ndarray:
        calls.append(seed)
        rng = np.random.default_rng([seed, int(frame.sum())])
        return np.clip(frame.astype(int) + rng.integers(-30, 30, frame.shape), 0, 255).astype(np.uint8)
    return translate


@pytest.mark.parametrize("steady", [0.6, 0.0])
def test_iter_translate_frames_streams_the_frames_of_translate_frames(steady):
    rng = np.random.default_rng(1)
    scene = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    frames = [np.roll(scene, 2 * k, axis=1) for k in range(4)]  # a pan
    calls: list = []
    reference = translate_frames(_fake_translator(calls), frames, seed=7, steady=steady)
    assert len(calls) == 4
    calls.clear()
    stream = iter_translate_frames(_fake_translator(calls), frames, seed=7, steady=steady)
    first = next(stream)
    assert calls == [7]  # one frame translated before the first output came
    assert _same([first, *stream], reference) and len(calls) == 4
    raw = [_fake_translator([])(f, seed=7) for f in frames]
    assert _same(reference, raw) == (steady == 0.0)  # steadying changes the frames after the first
    with pytest.raises(ValueError, match="frames"):
        iter_translate_frames(_fake_translator(calls), [], seed=7)
    with pytest.raises(ValueError, match="steady"):
        iter_translate_frames(_fake_translator(calls), frames, steady=1.0)


def test_chunk_spans_cover_the_frames_in_the_sizes_asked():
    from streetgen.pipelines.base import chunk_spans

    assert chunk_spans(16, None) == [(0, 16)]
    assert chunk_spans(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert chunk_spans(16, (1, 5)) == [(0, 1), (1, 6), (6, 11), (11, 16)]
    assert chunk_spans(3, (1, 5)) == [(0, 1), (1, 3)]
    for bad in (0, (1, 0), (), 2.5, True):
        with pytest.raises(ValueError, match="chunk"):
            chunk_spans(4, bad)
