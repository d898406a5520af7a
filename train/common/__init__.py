"""Shared training machinery for the one-script-per-model trainers in train/.

    run.py      run folders, resolved config, atomic safetensors+JSON checkpoints, resume
    ema.py      exponential moving average of a model's weights
    logging.py  metrics.jsonl, loss-curve PNGs (drawn with PIL), sample grids
    loop.py     TrainConfig + CLI parsing, Trainer (accelerate, progress bar, checkpoints, samples, EMA and
                sampler factories, per-step RNG), batch sampler
    export.py   inference-only export (config.json + model.safetensors + README.md) and Hub push
    data.py     data sources shared by the trainers (world renders, CamVid, photo folders, caches) and batch crops
    evaluate.py the judges' held-out scores

Losses live in train/losses.py, discriminators in train/discriminators/; no trainer script imports another.

See train/example_tiny.py for a complete trainer that uses every helper, and loop.py's docstring for
multi-GPU / multi-node launch commands.
"""
