"""streetgen.world.render_panorama: a 360° street the panorama tool can be tested on (geometry, seams, round trip,
CLI, bad input)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from streetgen import classes, geo, panorama, world

SKY, ROAD = classes.CLASS_NAMES.index("Sky"), classes.CLASS_NAMES.index("Road")


@pytest.fixture(scope="module")
def paris():
    c = geo.FAMOUS_CITIES["Paris"]
    return world.render_panorama(c.lat, c.lon, seed=3, height=128, famous_city="Paris")


def test_shape_dtypes_and_determinism(paris):
    assert paris.image.shape == (128, 256, 3) and paris.image.dtype == np.uint8
    assert paris.labels.shape == (128, 256) and paris.labels.max() <= classes.VOID
    assert paris.depth.shape == (128, 256) and paris.depth.dtype == np.float32
    assert paris.meta["projection"] == "equirectangular" and paris.meta["famous_city"] == "Paris"
    c = geo.FAMOUS_CITIES["Paris"]
    again = world.render_panorama(c.lat, c.lon, seed=3, height=128, famous_city="Paris")
    assert (again.image == paris.image).all() and (again.labels == paris.labels).all()


def test_sky_above_road_below_and_the_ground_under_the_camera(paris):
    h, w = paris.labels.shape
    assert (paris.labels[: h // 8] == SKY).mean() > 0.3  # overhead: open sky between the façades
    assert (paris.labels[-h // 8:] == ROAD).mean() > 0.9  # underfoot: the road all around
    # straight down the ray meets the road about one camera height away (1.7–2.7 m up; the last rows are
    # stretched from 63° below the horizon, where the distance is 1.12 camera heights)
    assert 1.5 < np.median(paris.depth[-1]) < 3.5
    # looking down the street (middle column, at the horizon) sees much further than looking at a façade (±90°)
    assert paris.depth[h // 2, w // 2] > 3 * max(paris.depth[h // 2, w // 4], paris.depth[h // 2, 3 * w // 4])


def test_views_meet_without_seams(paris):
    """The four views join at ±45° and ±135°. Where sky meets sky and road meets road across a join, the colour
    step is like any other column's (no vignette, haze by distance along the ray), and so is the depth step
    (façades are continuous planes; a building may still end exactly at a join, so façade colours are not used)."""
    img, lab, dep = paris.image.astype(float), paris.labels, np.log(paris.depth)
    same = (lab[:, :-1] == lab[:, 1:]) & np.isin(lab[:, :-1], [SKY, ROAD])
    colour = np.abs(np.diff(img, axis=1)).mean(-1)
    colour_steps = np.array([colour[same[:, j], j].mean() for j in range(img.shape[1] - 1)])
    depth_steps = np.median(np.abs(np.diff(dep, axis=1)), axis=0)
    w = paris.image.shape[1]
    for j in (w // 8 - 1, 3 * w // 8 - 1, 5 * w // 8 - 1, 7 * w // 8 - 1):
        assert colour_steps[j] <= np.percentile(colour_steps, 95), j
        assert depth_steps[j] <= np.percentile(depth_steps, 95), j


def test_round_trip_through_the_cube_faces(paris):
    faces = panorama.equirect_to_cube(paris.image)
    back = panorama.cube_to_equirect(faces, size=paris.image.shape[:2])
    again = panorama.equirect_to_cube(back)
    for name in faces:  # views → panorama → views within tolerance
        assert np.abs(faces[name].astype(int) - again[name]).mean() < 6, name
    front = panorama.equirect_to_cube(paris.labels[..., None].repeat(3, -1))["front"][..., 0]
    n = front.shape[0]
    assert (front[-n // 6:] == ROAD).mean() > 0.8  # the front view: road ahead, in the lower part


def test_bad_arguments():
    with pytest.raises(ValueError, match="height"):
        world.render_panorama(0.0, 0.0, height=20)
    with pytest.raises(ValueError, match="latitude"):
        world.render_panorama(95.0, 0.0)
    with pytest.raises(ValueError, match="famous city"):
        world.render_panorama(0.0, 0.0, famous_city="Atlantis")


@pytest.mark.slow
def test_cli_writes_the_panorama_and_its_truth(tmp_path):
    out = tmp_path / "pano"
    r = subprocess.run([sys.executable, "-m", "streetgen.world", "panorama", "--place", "Venice", "--height", "64",
                        "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == {"panorama.png", "labels.png", "labels_ids.png", "depth.npy",
                                              "meta.json"}
    assert np.load(out / "depth.npy").shape == (64, 128)
    assert json.loads((out / "meta.json").read_text())["famous_city"] == "Venice"
    bad = subprocess.run([sys.executable, "-m", "streetgen.world", "panorama", "--lat", "10", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--lon" in bad.stderr


def test_pan_is_a_turning_camera_with_exact_flow():
    """render_pan: frame 0 is render_place's image; successive frames match under the exact turn (yaw_flow) and
    not under a wrong one — labels to within a few boundary pixels, images to within grain."""
    from streetgen.metrics import warp_error, yaw_flow

    video = world.render_pan("Venice", seed=2, size=(96, 128), frames=5, degrees_per_frame=2.0)
    assert len(video) == 5 and video[0].image.shape == (96, 128, 3)
    assert video[0].image.tobytes() == world.render_place("Venice", seed=2, size=(96, 128)).image.tobytes()
    yaws = [s.meta["camera_yaw_deg"] for s in video]
    assert np.allclose(np.diff(yaws), 2.0, atol=0.11)
    m = video[0].meta
    images = [s.image for s in video]

    def label_mismatch(degrees: float) -> float:  # nearest-pixel label disagreement after the warp
        rows, cols, inside = yaw_flow(96, 128, m["focal_px"], m["horizon_row"], degrees)
        r, c = np.round(rows[inside]).astype(int), np.round(cols[inside]).astype(int)
        return float(np.mean([(a.labels[r, c] != b.labels[inside]).mean() for a, b in zip(video, video[1:])]))

    assert label_mismatch(2.0) < 0.03 and label_mismatch(2.0) < 0.25 * label_mismatch(0.0)
    right = warp_error(images, 2.0, m["focal_px"], m["horizon_row"])
    assert right < warp_error(images, 1.0, m["focal_px"], m["horizon_row"])
    assert right < warp_error(images, 3.0, m["focal_px"], m["horizon_row"])
    rows, cols, inside = yaw_flow(8, 10, 5.0, 4.0, 0.0)  # no turn: every pixel stays where it is
    assert inside.all() and np.allclose(cols, np.arange(10)[None]) and np.allclose(rows, np.arange(8)[:, None])
    with pytest.raises(ValueError, match="frames"):
        world.render_pan("Paris", frames=0)
    with pytest.raises(ValueError, match="degrees_per_frame"):
        world.render_pan("Paris", degrees_per_frame=45)
    with pytest.raises(ValueError):
        world.render_pan("Atlantis")


@pytest.mark.slow
def test_pan_cli_writes_frames_labels_depth_and_cameras(tmp_path):
    out = tmp_path / "pan"
    r = subprocess.run([sys.executable, "-m", "streetgen.world", "pan", "--place", "Venice", "--frames", "3",
                        "--size", "64", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (out / "frames").iterdir()) == ["000.png", "001.png", "002.png"]
    assert np.load(out / "depth.npy").shape == (3, 64, 64)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["famous_city"] == "Venice" and len(meta["camera_yaw_deg_per_frame"]) == 3
    bad = subprocess.run([sys.executable, "-m", "streetgen.world", "pan", "--frames", "0", "--out", str(out)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "frames must be" in bad.stderr
