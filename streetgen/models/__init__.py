"""streetgen models: every class subclasses `StreetgenModel` and shares one checkpoint format (see base.py)."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

from streetgen.models.base import REGISTRY, StreetgenModel, architecture_class, read_config
from streetgen.models.card import ModelCardInfo

__all__ = ["REGISTRY", "StreetgenModel", "ModelCardInfo", "architecture_class", "read_config", "find_architecture"]


def find_architecture(name: str) -> dict[str, str]:
    """Import the streetgen module(s) whose source declares `architecture="<name>"`, so the class registers.

    Model classes live anywhere in the streetgen package (e.g. streetgen/judges.py); a fresh process that only
    calls streetgen.load() has not imported them. Scanning source text finds the one module to import instead of
    importing every module. Returns {module: error} for modules that failed to import.
    """
    package = Path(__file__).resolve().parents[1]  # .../streetgen
    declares = re.compile(r"architecture\s*=\s*[\"']" + re.escape(name) + r"[\"']")
    failures: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        try:
            if not declares.search(path.read_text(encoding="utf-8", errors="ignore")):
                continue
        except OSError:
            continue
        parts = path.relative_to(package.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        try:
            importlib.import_module(module)
        except Exception as e:  # a broken module must not hide the others; reported in the error message
            failures[module] = f"{type(e).__name__}: {e}"
        if name in REGISTRY:
            break
    return failures
