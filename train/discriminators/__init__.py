"""Training-only discriminators and critics (never exported; they live in a run's checkpoints).

    patchgan.py    70×70 PatchGAN (pix2pix, CycleGAN) and CycleGAN's ImagePool of past fakes
    spade.py       SPADE's multi-scale PatchGANs over (photo, one-hot layout) pairs
    layout.py      the layout GAN's residual discriminator and how one-hot reals / fake logits reach it
    map_critic.py  the map GAN's progressive, coordinate-conditioned Wasserstein critic
    minibatch.py   minibatch standard deviation, shared by the last two
"""
