"""--grad-accum in every GAN / judge / segmenter trainer: two micro-batches of B give batch 2B's gradients where no
statistic couples a batch, and --grad-accum 2 --batch-size B trains differently from plain batch B."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import safetensors.torch
import torch

from train.common.loop import TrainConfig, Trainer


def _trainer(tmp_path: Path, grad_accum: int) -> Trainer:
    cfg = TrainConfig(device="cpu", runs_dir=str(tmp_path), progress=False, grad_accum=grad_accum)
    return Trainer(cfg, [], entry="tests.train.test_accumulating_trainers")


def _pix2pix_grads(tmp_path: Path, src: torch.Tensor, tgt: torch.Tensor, accum: int) -> list[torch.Tensor]:
    from streetgen.models.pix2pix import UNetTranslator
    from train.discriminators.patchgan import PatchDiscriminator
    from train.train_pix2pix import train_step

    torch.manual_seed(0)
    model, disc = UNetTranslator(3, 1, 8, 4, train_size=32), PatchDiscriminator(4, 8, norm="instance")
    model.eval()  # no dropout masks (drawn per call); instance norm is the same in both modes
    opts = (torch.optim.Adam(model.parameters(), lr=1e-3), torch.optim.Adam(disc.parameters(), lr=1e-3))
    micro = iter(zip(src.chunk(accum), tgt.chunk(accum)))
    logged = train_step(_trainer(tmp_path / str(accum), accum), (model, disc), opts, lambda: next(micro), 50.0)
    assert sorted(logged) == ["g_gan", "l1", "loss_d", "loss_g"]
    return [p.grad.clone() for p in [*model.parameters(), *disc.parameters()]]


@pytest.mark.slow
def test_pix2pix_step_over_two_micro_batches_has_the_double_batch_gradients(tmp_path):
    g = torch.Generator().manual_seed(1)
    src, tgt = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1, torch.rand(4, 1, 32, 32, generator=g) * 2 - 1
    whole, accumulated = _pix2pix_grads(tmp_path, src, tgt, 1), _pix2pix_grads(tmp_path, src, tgt, 2)
    assert len(whole) > 10
    for a, b in zip(accumulated, whole):  # G's then D's (D on G's fakes of the same micro-batches)
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    half = _pix2pix_grads(tmp_path / "half", src[:2], tgt[:2], 1)  # one micro-batch alone is another gradient
    assert max((a - h).abs().max().item() for a, h in zip(accumulated, half)) > 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["train_segmenter", "train_judges"])
def test_segmenter_micro_batches_match_the_double_batch_only_without_batch_statistics(tmp_path, loop):
    # train_segmenter steps through Trainer.optimizer_step, train_judges --judge seg through accumulated_step
    from streetgen.models.judges import Segmenter
    from train.train_judges import accumulated_step

    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(4, 3, 32, 32, generator=g), torch.randint(0, 11, (4, 32, 32), generator=g)

    def grads(train_mode: bool, accum: int) -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = Segmenter(width=4).train(train_mode)
        opt = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the step leaves the weights, we read the grads
        micro = iter(zip(x.chunk(accum), y.chunk(accum)))

        def micro_loss() -> torch.Tensor:
            xb, yb = next(micro)
            return torch.nn.functional.cross_entropy(model(xb), yb)

        if loop == "train_judges":
            accumulated_step(opt, micro_loss, accum)
        else:
            trainer = _trainer(tmp_path / f"{train_mode}{accum}", accum)
            trainer.optimizer_step(model, opt, lambda: {"loss": micro_loss()})
        return [p.grad.clone() for p in model.parameters()]

    for train_mode in (False, True):
        two, one = grads(train_mode, 2), grads(train_mode, 1)
        gap = max((a - b).abs().max().item() for a, b in zip(two, one))
        if train_mode:  # BatchNorm normalises each micro-batch by its own statistics: another gradient
            assert gap > 1e-4
        else:  # running statistics (eval mode): the mean of the micro-batch losses is the double batch's loss
            assert gap < 1e-5


def _exported(export: Path) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(str(export / "model.safetensors"))


def _differs(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].is_floating_point())


def _accum_vs_plain(main, tmp_path: Path, args: list[str], batch: int) -> tuple[Path, Path]:
    runs = ["--runs-dir", str(tmp_path / "runs")]
    acc = main([*runs, "--name", "acc", *args, "--batch-size", str(batch), "--grad-accum", "2"])
    plain = main([*runs, "--name", "plain", *args, "--batch-size", str(batch)])
    assert _differs(_exported(acc), _exported(plain)) > 1e-6
    for name in ("acc", "plain"):
        records = [json.loads(x) for x in (tmp_path / "runs" / name / "metrics.jsonl").read_text().splitlines()]
        assert len(records) == 2 and all(torch.isfinite(torch.tensor(v)) for r in records for k, v in r.items()
                                         if k not in ("step", "time"))
    config = json.loads((tmp_path / "runs" / "acc" / "config.json").read_text())
    assert config["config"]["grad_accum"] == 2
    return acc, plain


COMMON = ["--steps", "2", "--log-every", "1", "--ckpt-every", "2", "--device", "cpu", "--no-progress"]


@pytest.mark.slow
def test_segmenter_accumulates(tmp_path, camvid_root):
    # BatchNorm: its statistics are per micro-batch, so B x 2 cannot equal 2B; it must still train differently
    from train.train_segmenter import main
    _accum_vs_plain(main, tmp_path, ["--per-city", "1", "--per-country", "0", "--size", "32", "--width", "4",
                                     "--camvid", str(camvid_root), *COMMON], batch=2)


@pytest.mark.slow
def test_pix2pix_accumulates(tmp_path):
    from train.train_pix2pix import main
    _accum_vs_plain(main, tmp_path, ["--per-city", "2", "--size", "32", "--num-downs", "4", "--ngf", "8",
                                     "--d-width", "8", "--workers", "1", "--city", "Paris", *COMMON], batch=2)


@pytest.mark.slow
def test_spade_accumulates(tmp_path):
    from train.train_spade import main
    _accum_vs_plain(main, tmp_path, ["--channels", "16,16,8,8", "--spade-hidden", "8", "--latent-dim", "8",
                                     "--d-width", "8", "--d-layers", "3", "--countries", "FR,JP", "--per-country",
                                     "2", "--render-workers", "1", "--size", "32x64", "--region-style",
                                     "--diversity-weight", "1", "--perceptual-weight", "0", *COMMON], batch=2)


@pytest.mark.slow
def test_layout_gan_accumulates_with_lazy_r1(tmp_path):
    from train.train_layout_gan import main
    _accum_vs_plain(main, tmp_path, ["--height", "32", "--width", "64", "--z-dim", "16", "--w-dim", "32",
                                     "--mapping-layers", "2", "--g-last", "4", "--g-max", "32", "--d-last", "4",
                                     "--d-max", "32", "--r1-every", "2", "--eval-n", "0", "--countries", "FR,JP",
                                     "--per-country", "2", "--workers", "1", *COMMON], batch=2)
    records = [json.loads(x) for x in (tmp_path / "runs" / "acc" / "metrics.jsonl").read_text().splitlines()]
    assert "r1" not in records[0] and records[1]["r1"] > 0  # the R1 step is a step of its own, accumulated too


@pytest.mark.slow
def test_cyclegan_accumulates(tmp_path):
    from train.train_cyclegan import main
    _accum_vs_plain(main, tmp_path, ["--per-city", "2", "--render-workers", "1", "--size", "32", "--ngf", "8",
                                     "--n-blocks", "1", "--d-width", "8", "--sample-every", "0", *COMMON], batch=1)


@pytest.mark.slow
def test_map_gan_accumulates_with_per_micro_batch_gradient_penalty(tmp_path, tiny_country_cache):
    from train.train_map_gan import main
    acc, _ = _accum_vs_plain(main, tmp_path, [
        "--data", str(tiny_country_cache), "--final-size", "16", "--z-dim", "16", "--context-dim", "8",
        "--coord-bands", "3", "--channels", "16,8", "--stage-images", "8", "--fade-images", "8", "--curriculum",
        "1,all", "--curriculum-steps", "1", "--select-every", "0", "--outlier-km", "25000", *COMMON], batch=4)
    records = [json.loads(x) for x in (tmp_path / "runs" / "acc" / "metrics.jsonl").read_text().splitlines()]
    # growth counts images: batch 4 x accum 2 is 8 a step, so step 2 fades 16² in as batch 8 would
    assert [r["stage"] for r in records] == [0.0, 1.0] and records[1]["alpha"] < 1.0 and records[0]["gp"] >= 0


@pytest.mark.slow
@pytest.mark.parametrize("judge", ["place", "seg", "depth", "city"])
def test_judges_accumulate(tmp_path, camvid_root, judge):
    from train.train_judges import main
    args = ["--judge", judge, "--countries", "3", "--per-country", "2", "--test-per-country", "1", "--size", "32",
            "--width", "4", "--steps", "3", "--batch", "2", "--threads", "1", "--camvid", str(camvid_root)]
    main([*args, "--out", str(tmp_path / "acc"), "--grad-accum", "2"])
    main([*args, "--out", str(tmp_path / "plain")])
    assert _differs(_exported(tmp_path / "acc"), _exported(tmp_path / "plain")) > 1e-6
    with pytest.raises(ValueError, match="--grad-accum must be >= 1"):
        main([*args, "--out", str(tmp_path / "bad"), "--grad-accum", "0"])


@pytest.mark.slow
def test_two_processes_accumulate_cyclegan_discriminators_in_sync(tmp_path):
    # the D step accumulates two DDP-wrapped discriminators at once (no_sync on both until the last micro-batch);
    # the ranks' exported generators agree (DDP averages G's gradients; D's weights are not compared here)
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(Path.cwd()),
               ACCELERATE_CONFIG_FILE=str(tmp_path / "absent.yaml"))
    flags = ["--per-city", "2", "--render-workers", "1", "--size", "32", "--ngf", "8", "--n-blocks", "1",
             "--d-width", "8", "--sample-every", "0", "--batch-size", "1", "--grad-accum", "2", "--runs-dir",
             str(tmp_path), "--name", "ddp", *COMMON]
    proc = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                           "--main_process_port", port, "-m", "train.train_cyclegan", *flags],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    digests = json.loads((tmp_path / "ddp" / "final.json").read_text())["rank_weight_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]
