"""streetgen: street-level images of places on Earth."""
from __future__ import annotations

from typing import Any


def load(name_or_path: Any, **kwargs: Any) -> Any:
    """Load a streetgen model: a folder, checkpoints/<name>, or a Hub repo id (see streetgen.models.load).

    Lazy on purpose: `import streetgen` must not pull in torch.
    """
    from streetgen.models import load as load_model
    return load_model(name_or_path, **kwargs)
