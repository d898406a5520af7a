"""streetgen.panorama: equirectangular ↔ cube faces, perspective views, dtypes, bad input, CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from streetgen import panorama as P

ROOT = Path(__file__).resolve().parents[1]
H, W, N = 128, 256, 64  # panorama and face sizes: small, so the whole file runs in about a second

# The convention, written out independently of the module: each face's (right, up, forward) axes in world space
# (x right, y up, z forward). Up/down are the front camera tilted, so the top of "up" points back (−z).
FACE_AXES = {
    "front": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "right": ((0, 0, -1), (0, 1, 0), (1, 0, 0)),
    "back": ((-1, 0, 0), (0, 1, 0), (0, 0, -1)),
    "left": ((0, 0, 1), (0, 1, 0), (-1, 0, 0)),
    "up": ((1, 0, 0), (0, 0, -1), (0, 1, 0)),
    "down": ((1, 0, 0), (0, 0, 1), (0, -1, 0)),
}


def pano_dirs(h: int = H, w: int = W) -> np.ndarray:
    """(h, w, 3) unit directions of the panorama's pixel centres."""
    lat = (0.5 - (np.arange(h)[:, None] + 0.5) / h) * np.pi
    lon = ((np.arange(w)[None, :] + 0.5) / w - 0.5) * 2 * np.pi
    return np.stack(np.broadcast_arrays(np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)), -1)


def face_dirs(face: str, n: int = N) -> np.ndarray:
    """(n, n, 3) unit directions of a 90° face's pixel centres, from FACE_AXES."""
    right, up, fwd = (np.array(a, float) for a in FACE_AXES[face])
    t = 2 * (np.arange(n) + 0.5) / n - 1
    u, v = t[None, :, None], -t[:, None, None]  # columns go right, rows go down
    d = u * right + v * up + fwd
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def colour(d: np.ndarray) -> np.ndarray:
    """A smooth colour per direction: continuous across the ±180° seam and at the poles."""
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    rgb = np.stack([128 + 90 * np.sin(2.0 * x + 1.0 * y), 128 + 90 * np.cos(1.5 * z - 1.2 * y),
                    128 + 60 * x * z + 50 * y], -1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def depth(d: np.ndarray) -> np.ndarray:
    return (5 + 3 * d[..., 1] + 2 * d[..., 0] * d[..., 2]).astype(np.float32)


def err(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.float64) - b.astype(np.float64))


@pytest.fixture(scope="module")
def pano() -> np.ndarray:
    return colour(pano_dirs())


@pytest.fixture(scope="module")
def faces(pano) -> dict[str, np.ndarray]:
    return P.equirect_to_cube(pano, N)


def test_faces_have_names_shape_and_dtype(pano, faces):
    assert tuple(faces) == P.FACES == ("front", "right", "back", "left", "up", "down")
    assert all(f.shape == (N, N, 3) and f.dtype == np.uint8 for f in faces.values())
    assert P.equirect_to_cube(pano)["front"].shape == (W // 4, W // 4, 3)  # default face size


@pytest.mark.parametrize("face", P.FACES)
def test_every_face_pixel_looks_where_the_convention_says(faces, face):
    want = colour(face_dirs(face))
    e = err(faces[face], want)
    assert e.mean() < 0.5 and e.max() <= 4, (face, e.mean(), e.max())
    assert abs((faces[face].astype(float) - want).mean()) < 0.1  # rounded, not truncated (that biases by −0.5)


def test_round_trip_faces_pano_faces(pano, faces):
    back = P.cube_to_equirect(faces)
    assert back.shape == (H, W, 3) and back.dtype == np.uint8
    again = P.equirect_to_cube(back, N)
    for f in P.FACES:
        assert err(again[f], faces[f]).mean() < 2, f
    band = slice(H // 6, H - H // 6)  # |lat| < 60°: away from the clamped pole rows
    e = err(back, pano)
    assert e[band].mean() < 1 and e[band].max() <= 4
    assert e.mean() < 2


def test_merge_of_analytic_faces_matches_the_analytic_panorama():
    faces = {f: colour(face_dirs(f)) for f in P.FACES}  # built from FACE_AXES, not from the module
    e = err(P.cube_to_equirect(faces), colour(pano_dirs()))
    assert e.mean() < 0.5 and e.max() <= 4


def test_face_centres(pano):
    faces = P.equirect_to_cube(pano, 65)  # odd: a true centre pixel
    c, h2, w2, w4 = 32, H // 2, W // 2, 3 * W // 4
    # lon 0 / lat 0 lies between the four middle pixels; lon +90° between columns 3W/4 − 1 and 3W/4
    assert err(faces["front"][c, c], pano[h2 - 1:h2 + 1, w2 - 1:w2 + 1].mean((0, 1))).max() <= 1
    assert err(faces["right"][c, c], pano[h2 - 1:h2 + 1, w4 - 1:w4 + 1].mean((0, 1))).max() <= 1
    assert err(faces["back"][c, c], pano[h2 - 1:h2 + 1, [0, -1]].mean((0, 1))).max() <= 1  # across the seam
    marked = pano.copy()
    marked[:3], marked[-3:] = (255, 0, 255), (0, 255, 0)
    up_down = P.equirect_to_cube(marked, 65)
    assert (up_down["up"][c, c] == (255, 0, 255)).all() and (up_down["down"][c, c] == (0, 255, 0)).all()
    assert (up_down["front"][c, c] == faces["front"][c, c]).all()


@pytest.mark.parametrize("lon,lat,face", [(30, 20, "front"), (-120, -10, "left"), (100, 5, "right"),
                                          (170, -30, "back"), (45, 70, "up"), (-60, -65, "down")])
def test_marker_blob_lands_in_the_right_face_at_the_right_place(lon, lat, face):
    lo, la = np.radians(lon), np.radians(lat)
    target = np.array([np.cos(la) * np.sin(lo), np.sin(la), np.cos(la) * np.cos(lo)])
    pano = np.zeros((H, W), np.uint8)
    pano[pano_dirs() @ target > np.cos(np.radians(4))] = 255  # a 4° disc
    faces = P.equirect_to_cube(pano, N)
    right, up, fwd = (np.array(a, float) for a in FACE_AXES[face])
    u, v = target @ right / (target @ fwd), target @ up / (target @ fwd)
    want_r, want_c = (1 - v) / 2 * N - 0.5, (u + 1) / 2 * N - 0.5
    img = faces[face].astype(float)
    assert img.max() == 255
    rows, cols = np.indices(img.shape)
    got_r, got_c = (rows * img).sum() / img.sum(), (cols * img).sum() / img.sum()
    assert abs(got_r - want_r) < 1 and abs(got_c - want_c) < 1, ((got_r, got_c), (want_r, want_c))
    others = [f for f in P.FACES if f != face]
    assert sum(faces[f].astype(float).sum() for f in others) < 0.05 * img.sum()  # (a little may spill over edges)


def test_perspective_view_matches_front_face(pano, faces):
    np.testing.assert_array_equal(P.perspective_view(pano, 0, 0, 90, N), faces["front"])
    view = P.perspective_view(pano, 30, 10, 60, (48, 80))  # non-square: fov is horizontal
    assert view.shape == (48, 80, 3) and view.dtype == np.uint8


def test_view_across_the_seam_is_continuous(pano):
    view = P.perspective_view(pano, 180, 0, 90, N).astype(np.float64)
    assert err(view, colour(face_dirs("back"))).max() <= 4  # it is the back face, seam in its middle
    steps = np.abs(np.diff(view, axis=1))  # column-to-column changes
    middle = steps[:, N // 2 - 1]  # between columns N/2 − 1 and N/2: the ±180° seam
    assert middle.max() <= steps.max() and middle.mean() <= 2 * steps.mean() + 0.5


@pytest.mark.parametrize("yaw,want", [(180, 100), (-180, 100), (-180 + 180 / W, 200), (180 - 180 / W, 0),
                                      (-180 + 540 / W, 0)])
def test_seam_wraps_around(yaw, want):
    stripe = np.zeros((H, W), np.uint8)
    stripe[:, 0] = 200  # only the first column: sampling at lon ±180° must blend it with the last one
    view = P.perspective_view(stripe, yaw, 0, 10, 5)
    assert abs(int(view[2, 2]) - want) <= 1, view[2]


def test_float_depth_keeps_dtype_and_values():
    dep = depth(pano_dirs())
    faces = P.equirect_to_cube(dep, N)
    assert all(f.dtype == np.float32 and f.shape == (N, N) for f in faces.values())
    assert max(err(faces[f], depth(face_dirs(f))).max() for f in P.FACES) < 0.1
    back = P.cube_to_equirect(faces)
    assert back.dtype == np.float32 and back.shape == (H, W)
    assert err(back, dep).max() < 0.1
    flat = np.full((H, W), 7.25, np.float32)  # a constant must come back exactly, not 7.2499995
    assert all((f == np.float32(7.25)).all() for f in P.equirect_to_cube(flat, N).values())
    assert (P.cube_to_equirect(P.equirect_to_cube(flat, N)) == np.float32(7.25)).all()
    f64 = P.equirect_to_cube(dep.astype(np.float64), 16)
    assert f64["up"].dtype == np.float64


def test_grayscale_and_16bit(pano):
    gray = pano[..., 1]
    g = P.equirect_to_cube(gray, N)
    rgb = P.equirect_to_cube(np.repeat(gray[..., None], 3, -1), N)
    assert all(g[f].shape == (N, N) and (g[f] == rgb[f][..., 0]).all() for f in P.FACES)
    assert P.cube_to_equirect(g).shape == (H, W)
    wide = np.full((H, W), 65535, np.uint16)  # integer dtypes are clipped to their own range, not to 255
    out = P.cube_to_equirect(P.equirect_to_cube(wide, 16))
    assert out.dtype == np.uint16 and (out == 65535).all()


def test_load_panorama_converts_odd_modes(tmp_path, pano):
    Image.fromarray(pano).convert("RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(pano[..., 0]).save(tmp_path / "gray.png")
    Image.fromarray(pano[..., 0].astype(np.uint16) * 257).save(tmp_path / "gray16.png")
    for name in ("rgba.png", "gray.png", "gray16.png"):
        out = P.load_panorama(tmp_path / name)
        assert out.shape == (H, W, 3) and out.dtype == np.uint8, name
    assert (P.load_panorama(tmp_path / "rgba.png") == pano).all()
    assert (P.load_panorama(str(tmp_path / "gray16.png"))[..., 2] == pano[..., 0]).all()
    assert (P.load_panorama(Image.fromarray(pano)) == pano).all()


def test_load_panorama_refuses_bad_files(tmp_path):
    Image.new("L", (P.MAX_PANO_WIDTH + 2, 2)).save(tmp_path / "huge.png")  # cheap: refused from the header
    with pytest.raises(ValueError, match="too large"):
        P.load_panorama(tmp_path / "huge.png")
    Image.new("RGB", (300, 100)).save(tmp_path / "wide.png")
    with pytest.raises(ValueError, match="2:1"):
        P.load_panorama(tmp_path / "wide.png")
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="junk.jpg"):
        P.load_panorama(tmp_path / "junk.jpg")
    with pytest.raises(FileNotFoundError, match="nope.png"):
        P.load_panorama(tmp_path / "nope.png")


@pytest.mark.parametrize("call,match", [
    (lambda: P.equirect_to_cube(np.zeros((64, 100, 3), np.uint8)), "2:1"),
    (lambda: P.equirect_to_cube(np.zeros((4, 8), np.uint8)), "too small"),
    (lambda: P.equirect_to_cube(np.zeros((2, 16, 16, 3), np.uint8)), r"\(H, W\)"),
    (lambda: P.equirect_to_cube(np.zeros((16, 32), bool)), "numeric"),
    (lambda: P.equirect_to_cube(np.zeros((16, 32)), face_size=0), "face_size"),
    (lambda: P.equirect_to_cube(np.zeros((16, 32)), face_size=5000), "4096"),
    (lambda: P.perspective_view(np.zeros((16, 32)), 0, fov_deg=0), "fov"),
    (lambda: P.perspective_view(np.zeros((16, 32)), 0, fov_deg=180), "fov"),
    (lambda: P.perspective_view(np.zeros((16, 32)), 0, fov_deg=float("nan")), "fov"),
    (lambda: P.perspective_view(np.zeros((16, 32)), 0, size=(8, 9, 3)), "height, width"),
    (lambda: P.perspective_view(np.zeros((16, 32)), 0, size=(8, 5000)), "view width"),
    (lambda: P.perspective_view(np.zeros((16, 32)), float("inf")), "finite"),
])
def test_bad_panorama_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _faces_with(**changes) -> dict:
    faces = {f: np.zeros((8, 8, 3), np.uint8) for f in P.FACES}
    faces.update(changes)
    return {f: a for f, a in faces.items() if a is not None}


@pytest.mark.parametrize("faces,size,match", [
    (_faces_with(up=None), None, r"missing: \['up'\]"),
    (_faces_with(top=np.zeros((8, 8, 3), np.uint8)), None, r"unexpected: \['top'\]"),
    (_faces_with(left=np.zeros((8, 6, 3), np.uint8)), None, "square"),
    (_faces_with(left=np.zeros((4, 4, 3), np.uint8)), None, "same size"),
    (_faces_with(left=np.zeros((8, 8, 3), np.float32)), None, "same size and dtype"),
    (_faces_with(), (20, 20), "W = 2H"),
    (_faces_with(), (4, 8), "H >= 8"),
    (_faces_with(), (5000, 10000), "4096"),
    ([np.zeros((8, 8))] * 6, None, "dict"),
])
def test_bad_face_inputs(faces, size, match):
    with pytest.raises(ValueError, match=match):
        P.cube_to_equirect(faces, size)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streetgen.panorama", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_split_and_merge_round_trip(tmp_path, pano):
    Image.fromarray(pano).save(tmp_path / "pano.png")
    r = cli("split", tmp_path / "pano.png", "--out", tmp_path / "faces", "--face-size", N)
    assert r.returncode == 0, r.stderr
    for f in P.FACES:
        assert Image.open(tmp_path / "faces" / f"{f}.png").size == (N, N)
    r = cli("merge", tmp_path / "faces", "--out", tmp_path / "out" / "merged.png")
    assert r.returncode == 0, r.stderr
    merged = np.asarray(Image.open(tmp_path / "out" / "merged.png"))
    assert merged.shape == (H, W, 3)
    assert err(merged, pano)[H // 6:H - H // 6].mean() < 1


@pytest.mark.parametrize("kind", ["not 2:1", "missing face"])
def test_cli_errors_exit_2_with_a_message(tmp_path, kind):
    if kind == "not 2:1":
        Image.new("RGB", (90, 60)).save(tmp_path / "photo.jpg")
        r, want = cli("split", tmp_path / "photo.jpg", "--out", tmp_path / "faces"), "2:1"
    else:
        (tmp_path / "faces").mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / "faces" / "front.png")
        r, want = cli("merge", tmp_path / "faces", "--out", tmp_path / "p.png"), "missing face images: right.png"
    assert r.returncode == 2
    assert want in r.stderr and "usage:" in r.stderr, r.stderr
    assert not (tmp_path / "p.png").exists()
