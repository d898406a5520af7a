"""The sharp country model (tiny configs): guidance branch, determinism, soft labels, trainer, save/load, pipeline."""
import math

import numpy as np
import pytest
import torch

import streetgen
from streetgen.models.country_diffusion import CountryDiffusion
from streetgen.pipelines import CountryPipeline
from streetgen.sampling import sample_diffusion
from streetgen.sampling.guidance import mixture_eps
from streetgen.sampling.start import start_signal

TINY = dict(image_size=16, block_out_channels=(8, 16), layers_per_block=1, attention=(False, True), norm_num_groups=4)


def test_forward_shapes_and_labels():
    m = CountryDiffusion(countries=["FR", "JP", "KE"], **TINY)
    x = torch.randn(2, 3, 16, 16)
    eps = m(x, torch.tensor([10, 500]), torch.tensor([0, m.null_label]))
    assert eps.shape == x.shape
    # Soft labels are weighted sums of embedding rows: a one-hot row equals the index.
    onehot = torch.tensor([[0.0, 1.0, 0.0]])
    assert torch.allclose(m.embed(onehot), m.embed(torch.tensor([1])))
    half = m.embed(torch.tensor([[0.5, 0.5, 0.0]]))
    assert torch.allclose(half, 0.5 * (m.embed(torch.tensor([0])) + m.embed(torch.tensor([1]))))


@pytest.mark.slow
def test_sampling_is_deterministic_and_guidance_matters():
    torch.manual_seed(0)
    m = CountryDiffusion(countries=["FR", "JP"], **TINY).eval()
    with torch.no_grad():  # make the two countries' embeddings differ a lot so guidance has something to scale
        m.label_embed.weight.normal_(0, 3)
    lab = torch.tensor([0, 1])
    a = sample_diffusion(m, lab, generator=torch.Generator().manual_seed(1), steps=4, guidance=3.0, solver="ddim")
    b = sample_diffusion(m, lab, generator=torch.Generator().manual_seed(1), steps=4, guidance=3.0, solver="ddim")
    c = sample_diffusion(m, lab, generator=torch.Generator().manual_seed(1), steps=4, guidance=1.0, solver="ddim")
    d = sample_diffusion(m, lab, generator=torch.Generator().manual_seed(1), steps=4, guidance=3.0, solver="dpm")
    assert a.shape == (2, 3, 16, 16) and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, b) and not torch.allclose(a, c) and not torch.allclose(a, d)


@pytest.mark.slow
def test_trainer_save_load_and_pipeline(tmp_path, tiny_country_cache):
    from train.train_country_diffusion import main

    export = main(["--data", str(tiny_country_cache), "--runs-dir", str(tmp_path / "runs"), "--name", "d", "--steps", "4",
                   "--batch-size", "4", "--image-size", "16", "--channels", "8,16", "--attention", "0,1",
                   "--patch-size", "2", "--noise-shift", "2",
                   "--sample-every", "4", "--sample-steps", "2", "--ckpt-every", "2", "--log-every", "2",
                   "--device", "cpu", "--no-progress"])
    model = streetgen.load(str(export))
    assert isinstance(model, CountryDiffusion) and model.countries == ["FR", "JP", "KE"]
    pipe = CountryPipeline(model)
    a = pipe("KE", n=2, seed=5, steps=3)
    b = pipe("Kenya", n=2, seed=5, steps=3)
    assert a[0].shape == (16, 16, 3) and a[0].dtype == np.uint8
    assert all((u == v).all() for u, v in zip(a, b))
    frames = pipe.morph("FR", "JP", frames=3, seed=1, steps=2)
    assert len(frames) == 3 and not (frames[0] == frames[-1]).all()
    with pytest.raises(ValueError, match="not one of"):
        pipe("NO")


@pytest.mark.slow
def test_trainer_init_from_continues_an_export(tmp_path, tiny_country_cache):
    """--init-from starts a run from an exported model's weights (with lr 0 they come out unchanged) and says so in
    the card; a checkpoint whose countries are in another order is refused, since its embedding rows would then
    mean other countries."""
    from train.train_country_diffusion import main

    flags = ["--data", str(tiny_country_cache), "--runs-dir", str(tmp_path / "runs"), "--steps", "2",
             "--batch-size", "4", "--image-size", "16", "--channels", "8,16", "--attention", "0,1",
             "--patch-size", "2", "--sample-every", "0", "--sample-steps", "2", "--ckpt-every", "2",
             "--log-every", "2", "--device", "cpu", "--no-progress"]
    first = main(["--name", "a", "--p2-gamma", "1", "--rival-weight", "1", *flags])  # P2 and rival losses too
    second = main(["--name", "b", "--lr", "0", "--init-from", str(first), *flags])
    source = streetgen.load(str(first))
    theirs, ours = source.state_dict(), streetgen.load(str(second)).state_dict()
    assert theirs.keys() == ours.keys() and all(torch.equal(theirs[k], ours[k]) for k in theirs)
    assert f"started from {first}" in (second / "README.md").read_text()

    # --train-only: the country embeddings move, every network weight stays bit-identical (EMA export included)
    third = main(["--name", "c", "--lr", "1e-2", "--warmup-steps", "1", "--train-only", "label_embed",
                  "--rival-weight", "1", "--init-from", str(first), *flags])
    tuned = dict(streetgen.load(str(third)).named_parameters())
    for name, param in source.named_parameters():
        assert torch.equal(param, tuned[name]) != name.startswith("label_embed"), name
    with pytest.raises(ValueError, match="names no parameter"):
        main(["--name", "e", "--train-only", "label_embed,unett", *flags])

    config = {**dict(source._hub_mixin_config), "countries": ["JP", "FR", "KE"]}
    config.pop("architecture", None)
    CountryDiffusion(**config).save_pretrained(tmp_path / "reordered")
    with pytest.raises(ValueError, match="countries"):
        main(["--name", "d", "--init-from", str(tmp_path / "reordered"), *flags])


def test_p2_weights_favour_noisy_steps_and_keep_the_loss_scale():
    """The P2 weights fall as SNR rises (clean steps count less), average 1 over uniform timesteps, and gamma 0 is
    the plain loss."""
    from train.train_country_diffusion import p2_weights

    alphas = CountryDiffusion(countries=["FR", "JP"], **TINY).noise_schedule().alphas_cumprod
    weights = p2_weights(alphas, gamma=1.0)
    assert torch.isclose(weights.mean(), torch.tensor(1.0))
    assert bool((weights[1:] >= weights[:-1]).all()) and weights[-1] > 10 * weights[50]
    assert torch.equal(p2_weights(alphas, gamma=0.0), torch.ones_like(alphas))


def test_rivals_come_from_the_region_and_never_are_the_country():
    """Rivals are never the label itself; with share 1 they share its region style where the region has another
    country, and fall back to any other country where it has none; the draw is seeded."""
    from streetgen import geo
    from train.train_country_diffusion import draw_rivals, rival_table

    countries = ["FR", "DE", "JP", "KE", "TZ", "IS"]
    table = rival_table(countries)
    region = {c: geo.countries()[c].region_style for c in countries}
    assert all(region[countries[j]] == region[countries[i]] for i, row in enumerate(table) for j in row)
    assert all(i not in row for i, row in enumerate(table))
    labels = torch.arange(len(countries)).repeat(50)
    rivals = draw_rivals(labels, table, 1.0, torch.Generator().manual_seed(0))
    assert bool((rivals != labels).all()) and rivals.min() >= 0 and rivals.max() < len(countries)
    for label, rival in zip(labels.tolist(), rivals.tolist()):
        if table[label]:
            assert rival in table[label]
    anywhere = draw_rivals(labels, table, 0.0, torch.Generator().manual_seed(0))
    assert bool((anywhere != labels).all()) and len(set(anywhere.tolist())) == len(countries)
    assert torch.equal(anywhere, draw_rivals(labels, table, 0.0, torch.Generator().manual_seed(0)))


def test_rival_loss_rewards_the_true_country_explaining_the_noise_better():
    """The logistic gap loss is small when the true country's ε-error is lower, large when the rival's is, is
    log 2 / scale at a tie, and leaves weighted-out rows out of the mean."""
    from train.train_country_diffusion import rival_loss

    true_err, rival_err = torch.tensor([0.010, 0.010]), torch.tensor([0.011, 0.009])
    per_row = [float(rival_loss(true_err[i:i + 1], rival_err[i:i + 1], 1e4)) for i in range(2)]
    assert per_row[0] < 1e-6 < per_row[1]
    assert abs(float(rival_loss(true_err, true_err, 1e4)) - math.log(2) / 1e4) < 1e-9
    only_first = rival_loss(true_err, rival_err, 1e4, weight=torch.tensor([1.0, 0.0]))
    assert torch.isclose(only_first, torch.tensor(per_row[0]))
    error = true_err.clone().requires_grad_(True)
    rival_loss(error, rival_err, 1e4).backward()
    assert bool((error.grad > 0).all())  # lowering the true country's error lowers the loss


def test_shifted_schedule_adds_noise_at_every_step():
    from streetgen.models.country_diffusion import shifted_cosine_betas

    plain = torch.cumprod(1 - torch.tensor(shifted_cosine_betas(1000, 1.0)), 0)
    shifted = torch.cumprod(1 - torch.tensor(shifted_cosine_betas(1000, 2.0)), 0)
    assert (plain.diff() < 0).all() and (shifted.diff() < 0).all()  # α̅ falls monotonically
    assert (shifted[1:-1] < plain[1:-1]).all()  # the shift means less signal at every noise level
    mid = plain[499] / (1 - plain[499])  # SNR halfway: shift 2 divides it by 4
    assert torch.isclose(shifted[499] / (1 - shifted[499]), mid / 4, rtol=0.02)


@pytest.mark.slow
def test_patched_model_sde_sampler_seeded_progress_and_shared_noise():
    torch.manual_seed(0)
    m = CountryDiffusion(countries=["FR", "JP"], **{**TINY, "patch_size": 2, "noise_shift": 2.0}).eval()
    assert m.unet.config.in_channels == 12 and m.unet.config.sample_size == 8  # 16² in 2×2 patches
    lab = torch.tensor([0, 1])
    calls = []
    sde = dict(steps=5, solver="sde-dpm")
    a = sample_diffusion(m, lab, generator=torch.Generator().manual_seed(3),
                         progress=lambda i, n: calls.append((i, n)), **sde)
    b = sample_diffusion(m, lab, generator=torch.Generator().manual_seed(3), **sde)
    c = sample_diffusion(m, lab, generator=torch.Generator().manual_seed(4), **sde)
    assert a.shape == (2, 3, 16, 16) and torch.equal(a, b) and not torch.allclose(a, c)
    assert calls == [(i, 5) for i in range(1, 6)]
    # Shared noise with one starting latent and one label: every row is the same image.
    z = torch.randn(1, 3, 16, 16).expand(3, -1, -1, -1)
    same = sample_diffusion(m, torch.tensor([1, 1, 1]), latents=z, steps=4, shared_noise=True, solver="sde-dpm")
    assert torch.allclose(same[0], same[2], atol=1e-5)
    own = sample_diffusion(m, torch.tensor([1, 1, 1]), latents=z, steps=4, generator=torch.Generator().manual_seed(0),
                   solver="sde-dpm")
    assert not torch.allclose(own[0], own[2])
    with pytest.raises(ValueError, match="solver"):
        sample_diffusion(m, lab, solver="euler")
    with pytest.raises(ValueError, match="patch_size"):
        CountryDiffusion(countries=["FR"], **{**TINY, "patch_size": 3})


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["sde-dpm", "dpm", "ddim"])
def test_shipped_checkpoint_samples_streets_not_noise(solver):
    """Every solver on the shipped model ends in a smooth image (a schedule/solver mismatch leaves pure noise)."""
    model = streetgen.load("country_diffusion")
    x = sample_diffusion(model, torch.tensor([model.countries.index("US")]), generator=torch.Generator().manual_seed(0),
                     steps=10, solver=solver)
    roughness = (x[..., 1:] - x[..., :-1]).abs().mean().item()  # neighbour difference, image in [0, 1]
    assert x.shape == (1, 3, 128, 128) and 0.02 < roughness < 0.25, roughness


def test_remove_patch_lattice_takes_the_grid_and_nothing_else():
    from streetgen.sampling.lattice import remove_patch_lattice

    torch.manual_seed(0)
    # a smooth image (constant within each 4-wide band, so it has no 4-periodic part) plus a fixed 4×4 grid
    smooth = torch.linspace(-1, 1, 8).repeat_interleave(4)[None, None, None, :].expand(2, 3, 32, 32)
    grid = torch.randn(1, 3, 4, 4).repeat(1, 1, 8, 8)
    grid = grid - grid.mean(dim=(2, 3), keepdim=True)
    assert torch.allclose(remove_patch_lattice(smooth + grid, 4), smooth, atol=1e-5)
    assert torch.allclose(remove_patch_lattice(smooth, 4), smooth, atol=1e-6)
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(remove_patch_lattice(x, 1), x)
    # it is exactly the lattice bins of the spectrum that go: the other frequencies are untouched
    spec_in, spec_out = torch.fft.fft2(x), torch.fft.fft2(remove_patch_lattice(x, 4))
    lattice = torch.zeros(32, 32, dtype=torch.bool)
    lattice[::8, ::8] = True
    assert torch.allclose(spec_out[..., ~lattice], spec_in[..., ~lattice], atol=1e-3)
    assert spec_out[..., lattice][..., 1:].abs().max() < 1e-3  # every lattice bin but DC
    assert torch.allclose(spec_out[..., 0, 0], spec_in[..., 0, 0], atol=1e-3)


@pytest.mark.slow
def test_shipped_checkpoint_has_no_patch_grid():
    """The shipped 4×4-patch model's samples carry a grid at the lattice frequencies unless it is removed."""
    model = streetgen.load("country_diffusion")
    labels = torch.tensor([model.countries.index(c) for c in ("JP", "KE")])

    def lattice_share(x: torch.Tensor) -> float:
        gray = x.mean(dim=1)
        power = torch.fft.fft2(gray - gray.mean(dim=(1, 2), keepdim=True)).abs().pow(2).mean(0)
        mask = torch.zeros_like(power, dtype=torch.bool)
        mask[::32, ::32] = True
        return float(power[mask].sum() / power.sum())

    options = dict(generator=torch.Generator().manual_seed(0), steps=10)
    raw = sample_diffusion(model, labels, degrid=False, **options)
    clean = sample_diffusion(model, labels, generator=torch.Generator().manual_seed(0), steps=10)
    assert lattice_share(raw) > 0.02 and lattice_share(clean) < 0.001  # real renders: 0.0006
    assert (clean - raw).abs().mean() < 0.15  # the grid went, the picture stayed


def test_soft_labels_mix_the_countries_predictions():
    torch.manual_seed(0)
    m = CountryDiffusion(countries=["FR", "JP", "KE"], **TINY).eval()
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([300, 300])
    with torch.no_grad():
        e_fr = m(x, t, torch.tensor([0, 0]))
        e_jp = m(x, t, torch.tensor([1, 1]))
        e_u = m(x, t, torch.tensor([m.null_label] * 2))
        soft = torch.tensor([[0.3, 0.7, 0.0], [1.0, 0.0, 0.0]])
        mixed = mixture_eps(m, x, t, m.label_terms(soft), 1.0)
        guided = mixture_eps(m, x, t, m.label_terms(soft), 5.0)
        # weights are normalised per row: (3, 7, 0) is the same mixture as (0.3, 0.7, 0)
        scaled = mixture_eps(m, x, t, m.label_terms(soft * torch.tensor([[10.0], [2.0]])), 1.0)
    want = 0.3 * e_fr[0] + 0.7 * e_jp[0]
    assert torch.allclose(mixed[0], want, atol=1e-5) and torch.allclose(mixed[1], e_fr[1], atol=1e-5)
    assert torch.allclose(guided[0], e_u[0] + 5.0 * (want - e_u[0]), atol=1e-4)
    assert torch.allclose(scaled, mixed, atol=1e-5)
    for bad in (torch.tensor([[0.0, 0.0, 0.0]]), torch.tensor([[-1.0, 2.0, 0.0]]), torch.ones(1, 5)):
        with pytest.raises(ValueError, match="label weights"):
            m.label_terms(bad)


@pytest.mark.slow
def test_shipped_morph_frames_are_streets_all_the_way():
    """Half-way frames of a morph are streets like the end frames (mixing embedding rows gave pure noise)."""
    pipe = CountryPipeline(streetgen.load("country_diffusion"))
    frames = pipe.morph("IN", "NO", frames=5, seed=0)

    def roughness(f: np.ndarray) -> float:
        return float(np.abs(np.diff(f.astype(np.float32), axis=1)).mean())

    ends = max(roughness(frames[0]), roughness(frames[-1]))
    assert all(roughness(f) < 1.5 * ends for f in frames[1:-1]), [roughness(f) for f in frames]
    assert not (frames[2] == frames[0]).all() and not (frames[2] == frames[-1]).all()


def _two_tone_images(n: int, value: int, size: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(value, 20, (n, size, size, 3)), 0, 255).astype(np.uint8)


def test_start_prior_fits_country_means_and_pooled_covariance():
    m = CountryDiffusion(countries=["FR", "JP", "KE"], start_grid=2, **TINY)
    images = np.concatenate([_two_tone_images(40, 200, seed=1), _two_tone_images(60, 40, seed=2)])
    labels = np.array([0] * 40 + [1] * 60)  # KE has no images
    m.fit_start_prior(images, labels, batch=32)
    blocks = (images.astype(np.float64) / 127.5 - 1).reshape(100, 2, 8, 2, 8, 3).mean((2, 4))
    feats = blocks.transpose(0, 3, 1, 2).reshape(100, 12)  # channel-major, like adaptive_avg_pool2d + flatten
    mu = np.stack([feats[:40].mean(0), feats[40:].mean(0)])
    centred = np.concatenate([feats[:40] - mu[0], feats[40:] - mu[1]])
    cov = centred.T @ centred / (100 - 2)
    overall = feats.mean(0)
    assert np.allclose(m.start_mean[:2].numpy(), mu, atol=1e-5)
    assert np.allclose(m.start_mean[2].numpy(), overall, atol=1e-5)  # a country without images: the overall mean
    assert np.allclose(m.start_mean[m.null_label].numpy(), overall, atol=1e-5)
    chol = m.start_chol.double()
    assert torch.equal(chol, chol.tril()) and np.allclose((chol @ chol.T).numpy(), cov, atol=1e-5)
    # a mixture's signal sits between the two countries' means
    half = start_signal(m, torch.tensor([[1.0, 1.0, 0.0]]), torch.zeros(1, 12))
    assert torch.allclose(half.mean(), torch.tensor(float(mu.mean())), atol=1e-4)
    with pytest.raises(ValueError, match="start_grid"):
        CountryDiffusion(countries=["FR"], start_grid=0, **TINY).fit_start_prior(images, labels)
    with pytest.raises(ValueError, match="start_grid"):
        CountryDiffusion(countries=["FR"], start_grid=3, **TINY)


def test_start_prior_changes_only_the_start_and_is_seeded():
    torch.manual_seed(0)
    plain = CountryDiffusion(countries=["FR", "JP"], **TINY).eval()
    m = CountryDiffusion(countries=["FR", "JP"], start_grid=2, **TINY).eval()
    m.load_state_dict(plain.state_dict(), strict=False)
    m.fit_start_prior(np.concatenate([_two_tone_images(20, 230), _two_tone_images(20, 20)]), np.array([0] * 20 + [1] * 20))
    lab = torch.tensor([0, 1])

    def run(model, **kw):
        return sample_diffusion(model, lab, generator=torch.Generator().manual_seed(3), steps=3, **kw)

    assert torch.equal(run(m, start_prior=False), run(plain))  # off: exactly the model without a prior
    with_prior = run(m)
    assert torch.equal(with_prior, run(m)) and not torch.allclose(with_prior, run(plain))
    spread = run(m, start_spread=1.0)  # a draw around the country's mean, not the mean alone
    assert torch.equal(spread, run(m, start_spread=1.0)) and not torch.allclose(spread, with_prior)
    with pytest.raises(ValueError, match="start_spread"):
        run(m, start_spread=-1.0)
    # SDEdit keeps its images' own colours: no prior added
    init = torch.rand(2, 3, 16, 16)
    assert torch.equal(run(m, init_images=init, strength=0.5), run(plain, init_images=init, strength=0.5))


def test_seed_low_grid_takes_the_seeds_block_means_and_nothing_else():
    from streetgen.sampling.start import block_means

    torch.manual_seed(0)
    m = CountryDiffusion(countries=["FR", "JP"], start_grid=2, **TINY).eval()
    m.fit_start_prior(np.concatenate([_two_tone_images(20, 230), _two_tone_images(20, 20)]), np.array([0] * 20 + [1] * 20))
    lab = torch.tensor([0, 1])
    noise = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    shifted = noise + torch.randn(2, 3, 4, 4).repeat_interleave(4, 2).repeat_interleave(4, 3)  # other 4×4 block means

    def run(latents, **kw):
        return sample_diffusion(m, lab, latents=latents, generator=torch.Generator().manual_seed(3), steps=3, **kw)

    # removed: starting noises that differ only in their 4×4 block means give the same pictures
    assert torch.allclose(run(noise, seed_low_grid=4), run(shifted, seed_low_grid=4), atol=1e-4)  # float noise × guidance 12
    assert not torch.allclose(run(noise, seed_low_grid=0), run(shifted, seed_low_grid=0), atol=1e-3)
    # and nothing else: the same as handing the old sampler the noise without its block means
    assert torch.allclose(run(noise, seed_low_grid=4), run(noise - block_means(noise, 4), seed_low_grid=0), atol=1e-4)
    assert torch.allclose(block_means(noise - block_means(noise, 4), 4), torch.zeros(()), atol=1e-6)
    # no start prior, or SDEdit: the noise is left alone
    assert torch.equal(run(noise, start_prior=False), run(noise, start_prior=False, seed_low_grid=0))
    for bad in (3, -1, 1.5, True):
        with pytest.raises(ValueError, match="seed_low_grid"):
            run(noise, seed_low_grid=bad)


def test_fit_start_prior_script_keeps_the_weights(tmp_path, tiny_country_cache):
    from train.fit_start_prior import main

    torch.manual_seed(0)
    tiny = {**TINY, "image_size": 32}
    CountryDiffusion(countries=["FR", "JP", "KE"], **tiny).save_pretrained(tmp_path / "m")
    before = streetgen.load(tmp_path / "m").state_dict()
    main([str(tmp_path / "m"), "--data", str(tiny_country_cache), "--grid", "4"])
    after = streetgen.load(tmp_path / "m")
    assert after.start_grid == 4 and after.start_chol.abs().sum() > 0
    assert all(torch.equal(before[k], after.state_dict()[k]) for k in before)
    assert "fit_start_prior" in (tmp_path / "m" / "README.md").read_text()
    CountryDiffusion(countries=["FR", "JP"], **tiny).save_pretrained(tmp_path / "other")
    with pytest.raises(SystemExit):
        main([str(tmp_path / "other"), "--data", str(tiny_country_cache)])


@pytest.mark.slow
def test_shipped_start_prior_brings_the_colours_of_real_renders():
    """Started from plain noise the shipped model drew mid-grey pictures (mean 124/255 vs 101 in real renders)."""
    from streetgen import world

    model = streetgen.load("country_diffusion")
    countries = ["NO", "EG", "BR", "JP"]
    labels = torch.tensor([model.countries.index(c) for c in countries for _ in range(2)])
    real = np.mean([world.render_country(c, s, 128).image.mean() / 255 for c in countries for s in range(4)])

    def mean(start_prior: bool) -> float:
        return sample_diffusion(model, labels, generator=torch.Generator().manual_seed(0),
                                start_prior=start_prior).mean().item()

    assert model.start_grid == 4
    assert abs(mean(True) - real) < 0.6 * abs(mean(False) - real), (mean(True), mean(False), real)


@pytest.mark.parametrize("model_kind", ["diffusion", "cvae"])
def test_batched_requests_give_the_images_of_one_call_each(model_kind):
    """pipe.batched([(country, seed), ...]) answers each request with the image pipe(country, n=1, seed=seed)
    gives (batched arithmetic may round differently: at most one grey level), whatever the batch size; a sampler
    that draws noise on the way goes one call per request, exactly; unknown countries and bad seeds are refused."""
    from streetgen.models.cvae import CountryCVAE

    torch.manual_seed(0)
    if model_kind == "diffusion":
        model = CountryDiffusion(countries=["FR", "JP", "KE"], start_grid=2, **TINY)
        with torch.no_grad():
            model.label_embed.weight.normal_(0, 3)
    else:
        model = CountryCVAE(countries=["FR", "JP", "KE"], image_size=32, latent_dim=8, embed_dim=4, channels=(4, 8, 8),
                            hidden=16)
    pipe = CountryPipeline(model)
    options = {"steps": 3} if model_kind == "diffusion" else {}
    requests = [("FR", 3), ("Japan", 5), ("KE", 3), ("FR", 7), ("JP", 3)]
    singles = [pipe(c, n=1, seed=s, **options)[0] for c, s in requests]
    for batch in (2, 64):
        batched = pipe.batched(requests, batch=batch, **options)
        assert len(batched) == len(requests)
        assert all(np.abs(a.astype(int) - b.astype(int)).max() <= 1 for a, b in zip(batched, singles))
    assert not np.array_equal(singles[0], singles[3]) and not np.array_equal(singles[0], singles[2])
    if model_kind == "diffusion":
        noisy = {"steps": 3, "solver": "sde-dpm"}
        assert all(np.array_equal(a, pipe(c, n=1, seed=s, **noisy)[0])
                   for a, (c, s) in zip(pipe.batched(requests, batch=4, **noisy), requests))
    with pytest.raises(ValueError, match="not one of"):
        pipe.batched([("FR", 1), ("NO", 2)], **options)
    with pytest.raises(ValueError, match="seed"):
        pipe.batched([("FR", -1)], **options)
    with pytest.raises(ValueError, match="batch"):
        pipe.batched(requests, batch=0, **options)


def _autoguide_pair():
    torch.manual_seed(0)
    model = CountryDiffusion(countries=["FR", "JP"], **TINY).eval()
    weaker = CountryDiffusion(countries=["FR", "JP"], **TINY).eval()
    return model, weaker


def test_autoguidance_is_seeded_off_at_zero_and_checks_its_inputs():
    model, weaker = _autoguide_pair()
    lab = torch.tensor([0, 1])

    def draw(**kw):
        return sample_diffusion(model, lab, generator=torch.Generator().manual_seed(2), steps=4, guidance=3.0, **kw)

    plain = draw()
    assert torch.equal(draw(autoguide=weaker, autoguide_scale=0.0), plain)  # 0 = off, bit for bit
    # guided by an identical copy of itself, ε_c − ε_weaker is 0: the same images up to float rounding
    twin = CountryDiffusion(countries=["FR", "JP"], **TINY).eval()
    twin.load_state_dict(model.state_dict())
    assert torch.allclose(draw(autoguide=twin, autoguide_scale=5.0), plain, atol=1e-5)
    auto = draw(autoguide=weaker, autoguide_scale=2.0)
    assert torch.equal(draw(autoguide=weaker, autoguide_scale=2.0), auto) and not torch.allclose(auto, plain)
    with pytest.raises(ValueError, match="needs an autoguide"):
        draw(autoguide_scale=1.0)
    with pytest.raises(ValueError, match="autoguide_scale must be"):
        draw(autoguide=weaker, autoguide_scale=-1.0)
    with pytest.raises(ValueError, match="country list"):
        draw(autoguide=CountryDiffusion(countries=["FR", "KE"], **TINY), autoguide_scale=1.0)
    with pytest.raises(ValueError, match="noise_shift"):
        draw(autoguide=CountryDiffusion(countries=["FR", "JP"], noise_shift=2.0, **TINY), autoguide_scale=1.0)


def test_autoguidance_pushes_samples_away_from_the_weaker_models_prediction():
    """A weaker model that reads every image as redder noise than the model does (ε + δ on the red channel) makes
    autoguided samples redder than the same seeds without it: the push goes away from the weaker model."""
    model, weaker = _autoguide_pair()
    offset = torch.tensor([0.3, 0.0, 0.0]).view(1, 3, 1, 1)
    weaker.predict = lambda x, t, emb: model.predict(x, t, emb) + offset  # type: ignore[method-assign]
    weaker.label_terms = model.label_terms  # type: ignore[method-assign]
    lab = torch.tensor([0, 1, 0, 1])

    def red_minus_blue(images):
        return (images[:, 0] - images[:, 2]).mean().item()

    plain = sample_diffusion(model, lab, generator=torch.Generator().manual_seed(4), steps=4, guidance=2.0)
    pushed = sample_diffusion(model, lab, generator=torch.Generator().manual_seed(4), steps=4, guidance=2.0,
                          autoguide=weaker, autoguide_scale=1.0)
    assert red_minus_blue(pushed) > red_minus_blue(plain) + 0.05


def test_pipeline_tells_an_autoguide_from_a_guide_and_applies_its_default_scale(tmp_path):
    from streetgen.pipelines import country as country_pipeline

    model, weaker = _autoguide_pair()
    model.save_pretrained(tmp_path / "m")
    weaker.save_pretrained(tmp_path / "w")
    pipe = CountryPipeline.from_pretrained(f"{tmp_path / 'm'}+{tmp_path / 'w'}")
    assert pipe.autoguide is not None and pipe.guide is None
    assert pipe._options({}, None)["autoguide_scale"] == country_pipeline.AUTOGUIDE_SCALE
    plain = CountryPipeline(pipe.model)
    a = pipe("FR", n=2, seed=3, steps=3)
    assert not np.array_equal(a, plain("FR", n=2, seed=3, steps=3))
    assert np.array_equal(pipe("FR", n=2, seed=3, steps=3, autoguide_scale=0.0), plain("FR", n=2, seed=3, steps=3))
    batched = pipe.batched([("FR", 3), ("JP", 4)], batch=2, steps=3)
    assert np.abs(batched[0].astype(int) - pipe("FR", n=1, seed=3, steps=3)[0].astype(int)).max() <= 1
    assert len(pipe.morph("FR", "JP", frames=3, seed=1, steps=3)) == 3
    with pytest.raises(ValueError, match="two autoguides"):
        CountryPipeline.from_pretrained(f"{tmp_path / 'm'}+{tmp_path / 'w'}+{tmp_path / 'w'}")
    with pytest.raises(ValueError, match="needs an autoguide"):
        plain("FR", n=1, seed=0, steps=3, autoguide_scale=1.0)
