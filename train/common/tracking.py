"""--report-to: accelerate's experiment trackers (tensorboard, wandb, ...), checked before training starts.

accelerate silently drops a tracker whose package is missing; here a missing package is an error at start,
naming what to install, so a run does not train for hours without the logs it was asked for.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# tracker name -> the package to install for it (accelerate's names; see accelerate.utils.LoggerType)
PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "trackio": "trackio", "aim": "aim",
            "comet_ml": "comet_ml", "mlflow": "mlflow", "clearml": "clearml", "dvclive": "dvclive",
            "swanlab": "swanlab"}


def tracker_names(report_to: str) -> list[str]:
    """The comma-separated --report-to value as accelerate log_with names; [] for "none" or ""."""
    return [n.strip().lower() for n in report_to.split(",") if n.strip() and n.strip().lower() != "none"]


def resolve_trackers(report_to: str, extra: Sequence[Any] = ()) -> list[Any] | None:
    """accelerate's `log_with` for --report-to plus `extra` GeneralTracker instances; None when there are none.

    ValueError for an unknown name or one whose package is not installed ("all" = whatever is installed)."""
    from accelerate.tracking import get_available_trackers

    names = tracker_names(report_to)
    available = {str(t) for t in get_available_trackers()}
    for name in names:
        if name == "all":
            continue
        if name not in PACKAGES:
            raise ValueError(f"--report-to {name[:40]!r}: unknown tracker; choose from none, all, "
                             + ", ".join(sorted(PACKAGES)))
        if name not in available:
            raise ValueError(f"--report-to {name}: the {PACKAGES[name]!r} package is not installed "
                             f"(pip install {PACKAGES[name]}), so nothing would be logged")
    log_with = [*names, *extra]
    return log_with or None


def plain_config(config: dict[str, Any]) -> dict[str, Any]:
    """Tracker hyper-parameters must be bool, str, int, float or None: anything else becomes its repr."""
    return {k: v if v is None or isinstance(v, (bool, str, int, float)) else repr(v) for k, v in config.items()}
