"""One rule for seeds everywhere (pipelines, the world renderer, the app): a whole number from 0 to MAX_SEED."""
from __future__ import annotations

import numpy as np

# torch.Generator.manual_seed takes up to 2**64 - 1 and numpy any size; 2**63 - 1 also fits every int64 field
# (JSON clients, numpy arrays), so one bound serves all and a too-large seed fails here with a clear message
# instead of as "Overflow when unpacking long long" deep inside torch.
MAX_SEED = 2**63 - 1


def check_seed(seed) -> int:
    """`seed` as an int, or a ValueError naming the rule (bools, floats and out-of-range values are refused)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    return int(seed)
