"""Layout input handling: palette snapping, every odd input read_layout must take (or refuse clearly), fitting."""
import io

import numpy as np
import pytest
from PIL import Image

from streetgen.classes import PALETTE, VOID, colorize_labels
from streetgen.io.labels import (MAX_FAR_SHARE, check_layout, content_box, far_from_palette_share, fit_layout,
                                 read_layout, snap_to_palette)


def _street(h=24, w=48) -> np.ndarray:
    """Sky over buildings over road, a car and a pole: five classes, no void."""
    lab = np.zeros((h, w), np.uint8)
    lab[h // 3:, :] = 1
    lab[2 * h // 3:, :] = 3
    lab[2 * h // 3:, w // 4:w // 4 + 6] = 8
    lab[:, w - 3] = 2
    return lab


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_exact_palette_colours_give_exact_ids():
    ids = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert (snap_to_palette(PALETTE[ids]) == ids).all()
    lab = _street()
    assert (read_layout(colorize_labels(lab)) == lab).all()
    assert (read_layout(Image.fromarray(colorize_labels(lab))) == lab).all()


def test_jittered_and_off_palette_colours_snap_to_the_nearest():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 12, (16, 16)).astype(np.uint8)
    noisy = np.clip(PALETTE[ids].astype(int) + rng.integers(-12, 13, (16, 16, 3)), 0, 255).astype(np.uint8)
    assert (snap_to_palette(noisy) == ids).all()  # JPEG-like noise lands on the painted class
    white = np.full((2, 2, 3), 255, np.uint8)
    nearest = ((PALETTE.astype(int) - 255) ** 2).sum(1).argmin()
    assert (snap_to_palette(white) == nearest).all()  # any colour snaps somewhere...
    assert (snap_to_palette(white, max_distance=60) == VOID).all()  # ...unless a distance cap makes it void
    assert snap_to_palette(PALETTE[None, :3], max_distance=0).tolist() == [[0, 1, 2]]


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def test_photos_and_other_palettes_are_refused_not_snapped():
    """A photo uploaded as a layout used to snap into a random-looking layout; now it is refused with a message,
    while the label maps people really upload (JPEG-compressed, resampled, brush-edged) still read."""
    from PIL import ImageFilter

    from streetgen import world

    for lat, lon in [(35.7, 139.7), (48.9, 2.35), (-1.3, 36.8)]:
        sample = world.render(lat, lon, seed=2, size=96)
        assert far_from_palette_share(sample.image) > MAX_FAR_SHARE
        with pytest.raises(ValueError, match="looks like a photo"):
            read_layout(Image.fromarray(sample.image))
        with pytest.raises(ValueError, match="looks like a photo"):
            read_layout(_png(Image.fromarray(sample.image)))
        colours = colorize_labels(sample.labels)
        blurred = np.asarray(Image.fromarray(colours).resize((192, 192), Image.BILINEAR)
                             .filter(ImageFilter.GaussianBlur(1.2)))
        for kept in (_jpeg(colours, 20), blurred):
            assert far_from_palette_share(kept) < MAX_FAR_SHARE
            read = read_layout(kept)
            back = np.asarray(Image.fromarray(read).resize(sample.labels.shape[::-1], Image.NEAREST))
            assert (back == sample.labels).mean() > 0.8  # still the same street
    cityscapes = np.array([[128, 64, 128], [244, 35, 232], [70, 70, 70], [107, 142, 35], [70, 130, 180],
                           [0, 0, 142]], np.uint8)  # road, sidewalk, building, vegetation, sky, car
    with pytest.raises(ValueError, match="another palette"):
        read_layout(np.repeat(cityscapes, 20, axis=0).reshape(12, 10, 3))
    # transparent pixels are nobody's paint: only opaque ones count; a distance cap voids far colours instead
    photo = world.render(35.7, 139.7, seed=2, size=64).image
    rgba = np.dstack([photo, np.zeros(photo.shape[:2], np.uint8)])
    rgba[:20, :, :3], rgba[:20, :, 3] = PALETTE[3], 255
    assert (read_layout(rgba)[:20] == 3).all() and (read_layout(rgba)[20:] == VOID).all()
    assert read_layout(photo, max_distance=40).shape == photo.shape[:2]


def test_class_id_pngs_l_p_16bit_and_rgb_id_maps():
    lab = _street()
    assert (read_layout(_png(Image.fromarray(lab))) == lab).all()  # mode L
    p = Image.fromarray(lab, mode="L").convert("P")
    p.putpalette([v for i in range(256) for v in (i, i, i)])  # grey palette: the indices are the ids
    assert p.mode == "P" and (read_layout(_png(p)) == lab).all()
    p2 = Image.fromarray(lab, mode="L").convert("P")
    shuffled = np.roll(PALETTE, 3, axis=0)  # an indexed export of a colour map: indices in another order
    p2.putpalette(shuffled.reshape(-1).tolist() + [0] * (768 - 36))
    assert (read_layout(p2) == np.roll(np.arange(12), 3)[lab]).all()  # the colours win, not the indices
    i16 = Image.fromarray(lab.astype(np.uint16))
    assert i16.mode.startswith("I") and (read_layout(_png(i16)) == lab).all()
    assert (read_layout(np.repeat(lab[..., None], 3, -1)) == lab).all()  # an id map forced to RGB
    assert (read_layout(lab.astype(np.int32)) == lab).all()


def test_rgba_transparent_is_void_and_grayscale_photos_are_refused(tmp_path):
    lab = _street()
    rgba = np.concatenate([colorize_labels(lab), np.full(lab.shape + (1,), 255, np.uint8)], -1)
    rgba[:4, :, 3] = 0
    out = read_layout(Image.fromarray(rgba, "RGBA"))
    assert (out[:4] == VOID).all() and (out[4:] == lab[4:]).all()
    gray = Image.fromarray((np.arange(24 * 48).reshape(24, 48) % 256).astype(np.uint8))
    with pytest.raises(ValueError, match="grayscale"):
        read_layout(gray)
    path = tmp_path / "lab.png"
    Image.fromarray(colorize_labels(lab)).save(path)
    assert (read_layout(path) == lab).all() and (read_layout(str(path)) == lab).all()


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        read_layout(b"this is not an image")
    with pytest.raises(FileNotFoundError, match="not found"):
        read_layout(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="class ids"):
        read_layout(np.full((4, 4), 40, np.uint8))
    with pytest.raises(ValueError, match="float"):
        read_layout(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(TypeError):
        read_layout(12)


def test_huge_and_tiny_images():
    lab = _street(3, 5)
    big = np.kron(lab, np.ones((1200, 1200), np.uint8))  # 3600 x 6000
    out = read_layout(Image.fromarray(colorize_labels(big)), max_side=600)
    assert max(out.shape) == 600 and set(np.unique(out)) == set(np.unique(lab))
    tiny = read_layout(Image.fromarray(colorize_labels(lab[:2, :2])))
    assert tiny.shape == (2, 2)
    fitted = fit_layout(tiny, (64, 64), mode="stretch")
    assert fitted.shape == (64, 64) and set(np.unique(fitted)) == set(np.unique(tiny))


def test_fit_layout_keeps_aspect_and_pads_with_void():
    lab = _street(24, 48)  # 1:2
    out, box = fit_layout(lab, (128, 128), mode="pad", return_box=True)
    assert out.shape == (128, 128) and box == (32, 0, 64, 128) == content_box((24, 48), (128, 128))
    assert (out[:32] == VOID).all() and (out[96:] == VOID).all() and (out[32:96] != VOID).all()
    assert (fit_layout(lab, (48, 96)) == np.kron(lab, np.ones((2, 2), np.uint8))).all()  # exact 2x, no pad
    crop = fit_layout(lab, (64, 64), mode="crop")
    assert crop.shape == (64, 64) and VOID not in crop
    assert fit_layout(lab, (10, 90), mode="stretch").shape == (10, 90)
    with pytest.raises(ValueError, match="mode"):
        fit_layout(lab, (8, 8), mode="zoom")


def test_check_layout_rejects_empty_and_single_class_maps():
    assert check_layout(_street()) is not None
    with pytest.raises(ValueError, match="empty layout"):
        check_layout(np.full((8, 8), VOID, np.uint8))
    with pytest.raises(ValueError, match="single-class.*Road"):
        check_layout(np.full((8, 8), 3, np.uint8))
    one_and_void = np.full((8, 8), VOID, np.uint8)
    one_and_void[4:] = 0
    with pytest.raises(ValueError, match="single-class.*Sky"):
        check_layout(one_and_void)


def test_fill_void_turns_a_sketch_into_a_scene():
    from streetgen.io.labels import fill_void

    sketch = np.full((8, 6), VOID, np.uint8)
    sketch[1, 1:5], sketch[6, 1:5] = 0, 3  # a Sky stroke high, a Road stroke low
    filled = fill_void(sketch)
    assert (filled[:3] == 0).all() and (filled[5:] == 3).all() and VOID not in filled
    assert (sketch == VOID).sum() == 40  # the input is left alone
    assert (fill_void(np.full((4, 4), VOID, np.uint8)) == VOID).all()  # nothing painted: nothing to copy
    stack = fill_void(np.stack([sketch, sketch]))
    assert stack.shape == (2, 8, 6) and (stack == filled).all()
