"""Paired label maps and depth maps, unpaired folders, and the RGB8 conversion rule."""
import logging

import numpy as np
import pytest
from PIL import Image

from streetgen.data import DepthPairs, ImageFolder, LabelPairs, Unpaired, read_depth, read_rgb
from streetgen.classes import PALETTE

H, W = 12, 16


def _ids(seed: int) -> np.ndarray:
    ids = np.random.default_rng(seed).integers(0, 11, (H, W)).astype(np.uint8)
    ids[0, :4] = 11  # some void
    return ids


def _photo(seed: int, size=(H, W)) -> np.ndarray:
    return np.random.default_rng(100 + seed).integers(0, 256, (*size, 3), dtype=np.uint8)


@pytest.fixture()
def camvid(tmp_path):
    """CamVid-style folders: images/<stem>.png (lossless, so pixels compare exactly) + labels/<stem>.png ids."""
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for k in range(3):
        Image.fromarray(_photo(k)).save(tmp_path / "images" / f"0001TP_{k:06d}.png")
        Image.fromarray(_ids(k)).save(tmp_path / "labels" / f"0001TP_{k:06d}.png")
    return tmp_path


def test_class_id_pairs_and_ignore_index(camvid):
    pairs = LabelPairs(camvid / "images", camvid / "labels")
    assert len(pairs) == 3
    for k in range(3):
        img, lab = pairs[k]
        assert np.array_equal(img, _photo(k)) and np.array_equal(lab, _ids(k)) and lab.dtype == np.uint8
    lab = LabelPairs(camvid / "images", camvid / "labels", ignore_index=255).label(0)
    assert (lab[0, :4] == 255).all() and np.array_equal(lab[1:], _ids(0)[1:])
    with pytest.raises(ValueError, match="ignore_index"):
        LabelPairs(camvid / "images", camvid / "labels", ignore_index=3)
    bad = _ids(1)
    bad[5, 5] = 12
    Image.fromarray(bad).save(camvid / "labels" / "0001TP_000001.png")
    with pytest.raises(ValueError, match=r"0001TP_000001\.png.*\[12\]"):
        pairs.label(1)


def test_colour_labels_through_the_palette(camvid):
    (camvid / "colour").mkdir()
    for k in range(3):
        Image.fromarray(PALETTE[_ids(k)]).save(camvid / "colour" / f"0001TP_{k:06d}_L.png")
    pairs = LabelPairs(camvid / "images", camvid / "colour", palette=PALETTE, label_suffix="_L")
    for k in range(3):
        assert np.array_equal(pairs.label(k), _ids(k))
    assert (LabelPairs(camvid / "images", camvid / "colour", palette=PALETTE, label_suffix="_L",
                       ignore_index=200).label(2)[0, :4] == 200).all()
    # Slightly off colours (e.g. from resampling): an error by default, mapped within a tolerance.
    noisy = PALETTE[_ids(0)].astype(int)
    noisy[3, 3] += np.array([2, -1, 0]) * (noisy[3, 3] > 2)
    Image.fromarray(noisy.astype(np.uint8)).save(camvid / "colour" / "0001TP_000000_L.png")
    off = tuple(int(v) for v in noisy[3, 3])
    with pytest.raises(ValueError, match=rf"0001TP_000000_L\.png.*colour \({off[0]}, {off[1]}, {off[2]}\)"):
        pairs.label(0)
    near = LabelPairs(camvid / "images", camvid / "colour", palette=PALETTE, label_suffix="_L", tolerance=2)
    assert np.array_equal(near.label(0), _ids(0))
    # An RGB label without a palette is refused rather than misread.
    with pytest.raises(ValueError, match="palette"):
        LabelPairs(camvid / "images", camvid / "colour", label_suffix="_L").label(1)


def test_unmatched_stems_and_size_mismatch(camvid, caplog):
    Image.fromarray(_photo(7)).save(camvid / "images" / "lonely.png")
    with pytest.raises(ValueError, match="lonely"):
        LabelPairs(camvid / "images", camvid / "labels")
    with caplog.at_level(logging.WARNING, logger="streetgen.data"):
        pairs = LabelPairs(camvid / "images", camvid / "labels", on_error="skip")
    assert len(pairs) == 3 and any("lonely" in r.getMessage() for r in caplog.records)
    Image.fromarray(_ids(1)[:, :10]).save(camvid / "labels" / "0001TP_000001.png")
    (camvid / "images" / "lonely.png").unlink()
    with pytest.raises(ValueError, match=r"size mismatch.*0001TP_000001"):
        LabelPairs(camvid / "images", camvid / "labels")
    pairs = LabelPairs(camvid / "images", camvid / "labels", on_error="skip")
    assert [p[0].rsplit("/", 1)[-1] for p in pairs.pairs] == ["0001TP_000000.png", "0001TP_000002.png"]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        LabelPairs(camvid / "nowhere", camvid / "labels")


def test_rgb8_conversion_rule(tmp_path):
    rgb = _photo(0)
    rgba = np.dstack([rgb, np.full((H, W), 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    assert np.array_equal(read_rgb(tmp_path / "rgba.png"), rgb)  # alpha dropped, colours as stored
    grey = rgb[..., 0]
    Image.fromarray(grey).save(tmp_path / "grey.png")
    assert np.array_equal(read_rgb(tmp_path / "grey.png"), np.repeat(grey[..., None], 3, -1))
    g16 = np.random.default_rng(1).integers(0, 65536, (H, W)).astype(np.uint16)
    g16[0, 0], g16[0, 1] = 65535, 128
    Image.fromarray(g16).save(tmp_path / "g16.png")
    got = read_rgb(tmp_path / "g16.png")
    assert got.dtype == np.uint8 and got.shape == (H, W, 3)
    assert np.array_equal(got[..., 1], np.round(g16 / 257.0).astype(np.uint8)) and got[0, 0, 0] == 255
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=100)
    assert np.abs(read_rgb(tmp_path / "cmyk.jpg").astype(int) - rgb).mean() < 12
    Image.fromarray(rgb).convert("P").save(tmp_path / "pal.png")
    assert read_rgb(tmp_path / "pal.png").shape == (H, W, 3)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    with pytest.raises(ValueError, match="broken.png"):
        read_rgb(tmp_path / "broken.png")


def test_depth_encodings(tmp_path):
    (tmp_path / "img").mkdir()
    for d in ("mm", "npy", "kitti", "disp"):
        (tmp_path / d).mkdir()
    metres = np.random.default_rng(2).uniform(2, 60, (H, W)).astype(np.float32)  # disparity×256 fits 16 bits
    metres[0, 0] = np.nan  # no measurement
    Image.fromarray(_photo(0)).save(tmp_path / "img" / "a.png")
    mm = np.nan_to_num(np.round(metres * 1000), nan=0).astype(np.uint16)
    Image.fromarray(mm).save(tmp_path / "mm" / "a.png")
    np.save(tmp_path / "npy" / "a.npy", metres)
    Image.fromarray(np.nan_to_num(np.round(metres * 256), nan=0).astype(np.uint16)).save(tmp_path / "kitti" / "a.png")
    baseline, focal = 0.54, 721.5
    disp = baseline * focal / metres  # pixels
    Image.fromarray(np.nan_to_num(np.round(disp * 256), nan=0).astype(np.uint16)).save(tmp_path / "disp" / "a.png")

    def check(d, tol):
        assert d.dtype == np.float32 and np.isnan(d[0, 0])
        assert np.nanmax(np.abs(d - metres) / metres) < tol

    img, d = DepthPairs(tmp_path / "img", tmp_path / "mm")[0]
    assert np.array_equal(img, _photo(0))
    check(d, 1e-3)
    check(DepthPairs(tmp_path / "img", tmp_path / "npy", encoding="npy").depth(0), 1e-7)
    check(DepthPairs(tmp_path / "img", tmp_path / "kitti", encoding="kitti_depth").depth(0), 5e-3)
    check(DepthPairs(tmp_path / "img", tmp_path / "disp", encoding="disparity", baseline=baseline,
                     focal=focal).depth(0), 1e-2)
    with pytest.raises(ValueError, match="baseline"):
        DepthPairs(tmp_path / "img", tmp_path / "disp", encoding="disparity")
    Image.fromarray((mm // 256).astype(np.uint8)).save(tmp_path / "mm" / "a.png")  # 8-bit: not a depth PNG
    with pytest.raises(ValueError, match=r"a\.png.*16-bit"):
        read_depth(tmp_path / "mm" / "a.png")


def test_unpaired_folders(tmp_path, caplog):
    (tmp_path / "a" / "sub").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    Image.fromarray(_photo(0, (30, 50))).save(tmp_path / "a" / "x.jpg")
    Image.fromarray(_photo(1, (40, 20))).save(tmp_path / "a" / "sub" / "y.webp")
    Image.fromarray(_photo(2, (25, 25))).save(tmp_path / "a" / "sub" / "z.PNG")
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    for k in range(5):
        Image.fromarray(_photo(10 + k, (20 + k, 30))).save(tmp_path / "b" / f"{k}.png")
    folder = ImageFolder(tmp_path / "a")
    assert [p.rsplit("/", 1)[-1] for p in folder.paths] == ["y.webp", "z.PNG", "x.jpg"]  # sorted by path
    assert folder[0].shape == (40, 20, 3) and np.array_equal(folder[1], _photo(2, (25, 25)))
    pairs = Unpaired(tmp_path / "a", tmp_path / "b", size=16, seed=0)
    assert len(pairs) == 5
    seen_b = set()
    for i in range(len(pairs)):
        a, b = pairs[i]
        assert a.shape == b.shape == (16, 16, 3)
        seen_b.add(b.tobytes())
    assert len(seen_b) == 5  # an epoch visits every B image once
    (tmp_path / "b" / "bad.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.png"):
        Unpaired(tmp_path / "a", tmp_path / "b")
    with caplog.at_level(logging.WARNING, logger="streetgen.data"):
        assert len(Unpaired(tmp_path / "a", tmp_path / "b", on_error="skip").b) == 5
    assert any("bad.png" in r.getMessage() for r in caplog.records)
