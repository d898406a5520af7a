"""Classifier guidance for the country diffusion model: the noise-aware guide (tiny configs), its trainer, and the
sampler / pipeline options that use it."""
import pytest
import torch

import streetgen
from streetgen.models.country_diffusion import CountryDiffusion
from streetgen.models.country_guide import CountryGuide
from streetgen.pipelines import CountryPipeline
from streetgen.sampling import sample_diffusion

COUNTRIES = ["FR", "JP", "KE"]
TINY_DIFFUSION = dict(image_size=16, block_out_channels=(8, 16), layers_per_block=1, attention=(False, True),
                      norm_num_groups=4, patch_size=2, noise_shift=2.0)
TINY_GUIDE = dict(image_size=16, patch_size=2, channels=(16, 32), noise_shift=2.0)


def _pair(seed: int = 0) -> tuple[CountryDiffusion, CountryGuide]:
    torch.manual_seed(seed)
    return CountryDiffusion(countries=COUNTRIES, **TINY_DIFFUSION).eval(), \
        CountryGuide(countries=COUNTRIES, **TINY_GUIDE).eval()


def test_guide_logits_round_trip_and_gradient_raises_the_class_probability(tmp_path):
    _, guide = _pair()
    x, t = torch.randn(4, 3, 16, 16), torch.tensor([0, 250, 500, 999])
    with torch.no_grad():
        logits = guide(x, t)
    assert logits.shape == (4, 3)
    guide.save_pretrained(tmp_path / "g")
    loaded = streetgen.load(str(tmp_path / "g"))
    assert type(loaded) is CountryGuide and loaded.countries == COUNTRIES
    with torch.no_grad():
        assert torch.allclose(loaded(x, t), logits, atol=1e-5)
    # a small step along ∇ log p(country | x) raises log p(country | x), for every row
    target = torch.tensor([0, 1, 2, 1])
    grad = guide.log_prob_grad(x, t, torch.nn.functional.one_hot(target, 3).float())
    assert grad.shape == x.shape and grad.abs().sum() > 0
    with torch.no_grad():
        before = guide(x, t).log_softmax(1)[torch.arange(4), target]
        after = guide(x + 1e-2 * grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1, 1), t).log_softmax(1)
    assert (after[torch.arange(4), target] > before).all()
    # a row with no country weight is not pulled anywhere
    none = guide.log_prob_grad(x[:1], t[:1], torch.zeros(1, 3))
    assert torch.equal(none, torch.zeros_like(none))


def test_guided_sampling_is_seeded_changes_the_images_and_checks_its_inputs():
    model, guide = _pair()
    labels = torch.tensor([0, 2])

    def draw(**kw):
        return sample_diffusion(model, labels, generator=torch.Generator().manual_seed(3), steps=4, **kw)

    plain = draw()
    assert torch.equal(draw(guide=guide, guide_scale=0.0), plain)  # scale 0 = off, bit for bit
    guided = draw(guide=guide, guide_scale=30.0)
    assert torch.equal(draw(guide=guide, guide_scale=30.0), guided) and not torch.allclose(guided, plain)
    assert 0 <= guided.min() and guided.max() <= 1
    with pytest.raises(ValueError, match="needs a guide"):
        draw(guide_scale=2.0)
    with pytest.raises(ValueError, match="guide_scale must be"):
        draw(guide=guide, guide_scale=-1.0)
    other = CountryGuide(countries=["JP", "FR", "KE"], **TINY_GUIDE)
    with pytest.raises(ValueError, match="country list"):
        draw(guide=other, guide_scale=2.0)
    shifted = CountryGuide(countries=COUNTRIES, **{**TINY_GUIDE, "noise_shift": 1.0})
    with pytest.raises(ValueError, match="noise schedule"):
        draw(guide=shifted, guide_scale=2.0)


def test_guide_pulls_samples_toward_what_it_reads_as_the_country():
    """With a guide whose verdict is a fixed colour rule (country 0 = red, 1 = blue), guidance makes samples of
    country 0 redder and of country 1 bluer than the same seeds unguided — the pull goes where the guide says.
    (The U-Net's output layer is zeroed so that the guide's pull is the only difference between the two runs.)"""
    model, guide = _pair()
    with torch.no_grad():
        model.unet.conv_out.weight.zero_()
        model.unet.conv_out.bias.zero_()

    def colour_rule(noisy, timesteps):  # red minus blue decides between country 0 and 1
        d = (noisy[:, 0] - noisy[:, 2]).mean(dim=(1, 2))
        return torch.stack([8 * d, -8 * d, torch.zeros_like(d)], dim=1)

    guide.forward = colour_rule  # type: ignore[method-assign]
    labels = torch.tensor([0, 0, 1, 1])
    plain = sample_diffusion(model, labels, generator=torch.Generator().manual_seed(4), steps=4)
    guided = sample_diffusion(model, labels, generator=torch.Generator().manual_seed(4), steps=4, guide=guide,
                              guide_scale=5.0)
    red_minus_blue = lambda x: (x[:, 0] - x[:, 2]).mean(dim=(1, 2))  # noqa: E731
    change = red_minus_blue(guided) - red_minus_blue(plain)
    assert (change[:2] > 0.05).all() and (change[2:] < -0.05).all()


def test_trainer_exports_a_guide_that_fits_its_model_and_pipeline_uses_it(tmp_path, tiny_country_cache):
    from train.train_country_guide import main

    target = CountryDiffusion(countries=COUNTRIES, **{**TINY_DIFFUSION, "image_size": 32})
    target.save_pretrained(tmp_path / "diffusion")
    export = main(["--data", str(tiny_country_cache), "--runs-dir", str(tmp_path / "runs"), "--name", "g",
                   "--schedule-from", str(tmp_path / "diffusion"), "--steps", "4", "--batch-size", "4",
                   "--channels", "16,32", "--val-share", "0.25", "--sample-every", "4", "--ckpt-every", "2",
                   "--log-every", "2", "--warmup-steps", "2", "--device", "cpu", "--no-progress"])
    guide = streetgen.load(str(export))
    assert isinstance(guide, CountryGuide) and guide.countries == COUNTRIES and guide.image_size == 32
    card = (export / "README.md").read_text()
    assert "val_top1_t500" in card and "train.train_country_guide" in card
    assert list((tmp_path / "runs" / "g" / "samples").glob("*.png"))

    pipe = CountryPipeline.from_pretrained(f"{tmp_path / 'diffusion'}+{export}")
    assert pipe.guide is not None
    a = pipe("KE", n=2, seed=1, steps=3, guide_scale=4.0)
    b = pipe("KE", n=2, seed=1, steps=3, guide_scale=4.0)
    c = pipe("KE", n=2, seed=1, steps=3)
    assert all((u == v).all() for u, v in zip(a, b)) and any((u != v).any() for u, v in zip(a, c))
    with pytest.raises(ValueError, match="needs a country guide"):
        CountryPipeline(pipe.model)("KE", n=1, seed=1, steps=2, guide_scale=4.0)
    # a guide trained for another model's countries is refused when the pipeline is built
    with pytest.raises(ValueError, match="does not fit"):
        CountryPipeline(CountryDiffusion(countries=["JP", "FR", "KE"], **TINY_DIFFUSION), guide)
    # the cache must label the same countries in the same order as the model to be guided
    CountryDiffusion(countries=["JP", "FR", "KE"], **TINY_DIFFUSION).save_pretrained(tmp_path / "reordered")
    with pytest.raises(ValueError, match="another order"):
        main(["--data", str(tiny_country_cache), "--runs-dir", str(tmp_path / "runs"), "--name", "h",
              "--schedule-from", str(tmp_path / "reordered"), "--steps", "2", "--device", "cpu", "--no-progress"])


def test_pipeline_refuses_a_guide_for_a_model_without_guidance():
    from streetgen.models.cvae import CountryCVAE

    _, guide = _pair()
    with pytest.raises(ValueError, match="takes no classifier guide"):
        CountryPipeline(CountryCVAE(countries=COUNTRIES), guide)
