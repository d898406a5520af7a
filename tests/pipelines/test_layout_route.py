"""The City tab's layout route (photo → segmenter → city-conditioned SPADE): the pipeline with tiny models, its
loading spec, the CLI and panorama outputs, the SPADE trainer's --cities / --init-from and the segmenter trainer."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import streetgen
from streetgen import world
from streetgen.models.judges import Segmenter
from streetgen.models.spade import SpadeGenerator
from streetgen.pipelines import LayoutRoutePipeline, load_city_pipeline, run_city, translate_panorama

TINY_SPADE = dict(image_size=(32, 32), channels=(16, 16, 8), spade_hidden=8, latent_dim=8)


def _tiny_route(styles=("Paris", "Venice")) -> tuple[Segmenter, SpadeGenerator]:
    torch.manual_seed(0)
    return Segmenter(width=4).eval(), SpadeGenerator(styles=list(styles), **TINY_SPADE).eval()


@pytest.mark.slow
def test_route_keeps_size_paints_each_city_and_checks_inputs():
    pipe = LayoutRoutePipeline(*_tiny_route())
    photo = world.render_city("Paris", seed=1, size=(50, 70)).image  # not a multiple of anything
    out, labels = pipe(photo, "Venice", seed=0)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert labels.shape == photo.shape[:2] and labels.dtype == np.uint8 and labels.max() <= 10
    assert (labels == pipe.segment(photo)).all()  # the intermediate is what the segmenter read
    # both models run at their training scale (short side 32 here), in multiples of 16: a photo twice as large
    # is read at the same size, so it gives the same layout, twice as large
    assert pipe.work_size(50, 70) == (32, 48) and pipe.work_size(256, 256) == (32, 32)
    big = np.asarray(Image.fromarray(photo).resize((140, 100), Image.BICUBIC))
    assert pipe.work_size(100, 140) == pipe.work_size(50, 70)
    assert (pipe.segment(big)[::2, ::2] == labels).mean() > 0.9
    assert (pipe(photo, " venice ", seed=0)[0] == out).all()  # names in any case; one seed, one photo
    for other in (pipe(photo, "Venice", seed=1)[0], pipe(photo, "Paris", seed=0)[0]):
        assert np.abs(other.astype(int) - out).mean() > 0.5
    for bad in ("Tokyo", None, "FR"):
        with pytest.raises(ValueError, match="paints Paris, Venice"):
            pipe(photo, bad)
    with pytest.raises(ValueError, match="seed"):
        pipe(photo, "Venice", seed=-1)
    seg, spade = _tiny_route()
    with pytest.raises(ValueError, match="first model must be a segmenter"):
        LayoutRoutePipeline(spade, spade)
    with pytest.raises(ValueError, match="conditioned on cities"):
        LayoutRoutePipeline(seg, SpadeGenerator(**TINY_SPADE))
    with pytest.raises(ValueError, match="not on cities"):
        LayoutRoutePipeline(seg, SpadeGenerator(styles=["nordic"], **TINY_SPADE))


def test_route_paints_the_layout_it_read():
    """SPADE gets the segmenter's map: a map of one class everywhere gives a photo that does not depend on where
    the photo's edges were, and two photos with the same reading give the same painting."""
    seg, spade = _tiny_route()
    pipe = LayoutRoutePipeline(seg, spade)
    a = world.render_city("Paris", seed=1, size=64).image
    b = world.render_city("Paris", seed=2, size=64).image
    with torch.no_grad():  # make the segmenter read "road" everywhere, whatever the photo
        last = [m for m in seg.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        last.weight.zero_()
        last.bias.copy_(torch.arange(last.bias.numel()) == 3)
    out_a, lab_a = pipe(a, "Paris", seed=0)
    out_b, lab_b = pipe(b, "Paris", seed=0)
    assert (lab_a == 3).all() and (lab_b == 3).all() and (out_a == out_b).all()


@pytest.mark.slow
def test_spec_loading_cli_and_panorama(tmp_path, capsys):
    from streetgen.translate import main

    seg, spade = _tiny_route()
    seg.save_pretrained(tmp_path / "seg")
    spade.save_pretrained(tmp_path / "spade")
    spec = f"{tmp_path / 'seg'}+{tmp_path / 'spade'}"
    pipe = load_city_pipeline(spec)
    assert isinstance(pipe, LayoutRoutePipeline) and pipe.cities == ["Paris", "Venice"]
    photo = world.render_city("Paris", seed=3, size=64).image
    out, labels = run_city(pipe, photo, "Venice", seed=2)
    assert out.shape == (64, 64, 3) and labels.dtype == np.uint8
    with pytest.raises(ValueError, match="paints"):
        run_city(pipe, photo, None)

    pano = world.render_panorama(48.86, 2.35, seed=0, height=64, famous_city="Paris").image
    stitched, middle = translate_panorama(lambda f, seed: run_city(pipe, f, "Venice", seed=seed), pano)
    assert stitched.shape == pano.shape and middle is None  # class ids are not interpolated across faces

    Image.fromarray(photo).save(tmp_path / "a.png")
    assert main(["--model", spec, "--target", "Venice", str(tmp_path / "a.png"), "--out", str(tmp_path / "o")]) == 0
    ids = np.asarray(Image.open(tmp_path / "o" / "a_labels.png"))
    assert ids.shape == (64, 64) and ids.max() <= 10
    assert Image.open(tmp_path / "o" / "a_labels_color.png").mode == "RGB"
    assert main(["--model", spec, str(tmp_path / "a.png"), "--out", str(tmp_path / "x")]) == 2
    assert "paints Paris, Venice" in capsys.readouterr().err


def test_init_from_borrows_family_rows_for_cities(tmp_path):
    from train.train_spade import init_spade_from

    torch.manual_seed(1)
    source = SpadeGenerator(styles=list(world.FAMILIES), **TINY_SPADE)
    source.save_pretrained(tmp_path / "src")
    model = SpadeGenerator(styles=["Paris", "Venice", "nordic"], **TINY_SPADE)
    borrowed = init_spade_from(model, str(tmp_path / "src"))
    assert borrowed == ["Paris ← western_european_urban", "Venice ← mediterranean"]
    rows, src_rows = model.style_embed.weight, source.style_embed.weight
    fam = list(world.FAMILIES)
    for i, j in [(0, fam.index("western_european_urban")), (1, fam.index("mediterranean")),
                 (2, fam.index("nordic")), (3, len(fam))]:  # the last row is "any" in both
        assert torch.equal(rows[i], src_rows[j])
    assert torch.equal(model.fc.weight, source.fc.weight)
    with pytest.raises(ValueError, match="widths"):
        init_spade_from(SpadeGenerator(styles=["Paris"], **{**TINY_SPADE, "channels": (8, 8, 8)}),
                        str(tmp_path / "src"))


@pytest.mark.slow
def test_spade_trainer_on_city_renders(tmp_path):
    from train.train_spade import main

    flags = ["--channels", "16,16,8", "--spade-hidden", "8", "--latent-dim", "8", "--d-width", "8", "--d-layers",
             "3", "--batch-size", "2", "--steps", "2", "--log-every", "1", "--ckpt-every", "2", "--device", "cpu",
             "--no-progress", "--perceptual-weight", "0", "--render-workers", "1"]
    export = main(["--runs-dir", str(tmp_path / "runs"), "--name", "c", "--cities", "venice,Paris", "--per-city", "2",
                   "--size", "32x32", *flags])
    model = streetgen.load(str(export))
    assert model.styles == ["Venice", "Paris"]
    assert "famous city" in (export / "README.md").read_text()
    with pytest.raises(ValueError, match="unknown famous city"):
        main(["--runs-dir", str(tmp_path / "runs"), "--name", "d", "--cities", "Atlantis", "--size", "32x32", *flags])
    with pytest.raises(ValueError, match="square"):
        main(["--runs-dir", str(tmp_path / "runs"), "--name", "e", "--cities", "Paris", "--size", "32x64", *flags])


@pytest.mark.slow
def test_segmenter_trainer(tmp_path, camvid_root):
    from train.train_segmenter import main

    export = main(["--runs-dir", str(tmp_path / "runs"), "--name", "s", "--per-city", "1", "--per-country", "0",
                   "--size", "64", "--width", "4", "--steps", "3", "--batch-size", "4", "--camvid", str(camvid_root),
                   "--log-every", "1", "--device", "cpu", "--no-progress"])
    seg = streetgen.load(str(export))
    assert seg.architecture == "segmenter"
    card = (export / "README.md").read_text()
    assert "city_render_miou" in card and "camvid_val_miou" in card and "cc-by-nc-4.0" in card
