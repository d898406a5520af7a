"""Shared training machinery for the one-script-per-model trainers in train/.

    run.py      run folders, resolved config, atomic safetensors+JSON checkpoints, resume
    ema.py      exponential moving average of a model's weights
    logging.py  metrics.jsonl, loss-curve PNGs (drawn with PIL), sample grids
    loop.py     TrainConfig + CLI parsing, Trainer (accelerate, progress bar, checkpoints, samples), batch sampler
    export.py   inference-only export (config.json + model.safetensors + README.md) and Hub push

See train/example_tiny.py for a complete trainer that uses every helper, and loop.py's docstring for
multi-GPU / multi-node launch commands.
"""
