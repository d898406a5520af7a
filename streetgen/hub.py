"""Find and push streetgen checkpoints (config.json + model.safetensors + README.md folders); no model code here.

    resolve("judges/place")               # 1. a folder  2. checkpoints/<name>  3. a Hub repo id -> local folder
    push(model, "org/streetgen-judge")    # exactly the three files; HF_ENDPOINT picks the Hub

Offline behaviour: with HF_HUB_OFFLINE=1 only the local cache is consulted. Otherwise a quick TCP probe of
the endpoint (≤ 1.5 s, cached per process) runs first, because huggingface_hub retries a dead connection
with backoff for ~23 s before giving up; an unreachable Hub is then treated as offline.
"""
from __future__ import annotations

import json
import re
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import huggingface_hub
from huggingface_hub import constants
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

from streetgen import sources


CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
SHIPPED = (CONFIG_NAME, WEIGHTS_NAME, "README.md")  # what a checkpoint is, locally and on the Hub
PROBE_TIMEOUT_S = 1.5
_REPO_ID = re.compile(r"^[\w\-.]{1,96}(/[\w\-.]{1,96})?$")
_probe_cache: dict[str, tuple[float, str | None]] = {}  # endpoint -> (time, None if reachable else reason)


class CheckpointNotFoundError(LocalEntryNotFoundError):
    """No checkpoint under that name anywhere streetgen looks (a FileNotFoundError too)."""


def default_checkpoints_root() -> Path:
    """The repository's checkpoints/ folder (next to the streetgen package; one definition, in streetgen.sources)."""
    return sources.checkpoints_root()


def is_repo_id(name: str) -> bool:
    """Whether `name` has the shape of a Hub repo id (NAME or NAMESPACE/NAME), not a path."""
    return bool(_REPO_ID.match(name)) and not name.startswith((".", "~"))


def hub_unreachable(endpoint: str | None = None) -> str | None:
    """None if the Hub endpoint accepts a TCP connection quickly, else why not (offline mode included)."""
    if constants.HF_HUB_OFFLINE:
        return "offline mode (HF_HUB_OFFLINE=1)"
    endpoint = endpoint or constants.ENDPOINT
    hit = _probe_cache.get(endpoint)
    if hit is not None and time.monotonic() - hit[0] < 30.0:
        return hit[1]
    url = urlsplit(endpoint)
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        url = urlsplit(proxy if "://" in proxy else f"http://{proxy}")  # behind a proxy, probe the proxy
    port = url.port or (443 if url.scheme == "https" else 80)
    result: list[str | None] = [f"no answer from {endpoint} within {PROBE_TIMEOUT_S} s"]

    def probe() -> None:  # in a thread: getaddrinfo has no timeout of its own
        try:
            socket.create_connection((url.hostname or "", port), timeout=PROBE_TIMEOUT_S).close()
            result[0] = None
        except OSError as e:
            result[0] = f"cannot reach {endpoint} ({type(e).__name__}: {e})"

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(PROBE_TIMEOUT_S)
    _probe_cache[endpoint] = (time.monotonic(), result[0])
    return result[0]


def resolve(name: str, *, checkpoints_root: str | Path | None = None, revision: str | None = None,
            token: str | None = None, cache_dir: str | Path | None = None, endpoint: str | None = None) -> Path:
    """Local folder holding the checkpoint `name`: a folder path, checkpoints/<name>, or a Hub repo id."""
    looked: list[str] = []
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    looked.append(f"folder {path.resolve()}")
    root = Path(checkpoints_root) if checkpoints_root is not None else default_checkpoints_root()
    if not path.is_absolute():
        local = root / name
        if local.is_dir():
            return local
        looked.append(f"folder {local.resolve()}")
    if path.is_absolute() or name.startswith((".", "~")) or not _REPO_ID.match(name):
        raise CheckpointNotFoundError(f"no checkpoint {name!r}; looked in: " + "; ".join(looked))
    return _download(name, looked, revision=revision, token=token, cache_dir=cache_dir, endpoint=endpoint)


def _download(repo_id: str, looked: list[str], *, revision: str | None, token: str | None,
              cache_dir: str | Path | None, endpoint: str | None) -> Path:
    endpoint = endpoint or constants.ENDPOINT
    why_offline = hub_unreachable(endpoint)
    where = f"Hub repo {repo_id!r} at {endpoint}"
    where += " (local cache only: " + why_offline + ")" if why_offline else ""
    looked.append(where)
    common: dict[str, Any] = dict(repo_id=repo_id, token=token, cache_dir=cache_dir, endpoint=endpoint,
                                  local_files_only=why_offline is not None)
    hint = ("; unset HF_HUB_OFFLINE (or run once online) to download it" if constants.HF_HUB_OFFLINE
            else "; the Hub could not be reached, so only the local cache was searched" if why_offline else "")
    try:
        config = Path(huggingface_hub.hf_hub_download(filename=CONFIG_NAME, revision=revision, **common))
    except (HfHubHTTPError, EntryNotFoundError, OSError) as e:  # LocalEntryNotFoundError is an OSError
        raise CheckpointNotFoundError(f"no checkpoint {repo_id!r}; looked in: " + "; ".join(looked)
                                      + f" -> {type(e).__name__}: {_first_line(e)}" + hint) from e
    try:  # pin the weights to the commit the config came from (snapshots/<sha>/config.json)
        huggingface_hub.hf_hub_download(filename=WEIGHTS_NAME, revision=config.parent.name, **common)
    except LocalEntryNotFoundError as e:
        raise CheckpointNotFoundError(f"{where}: config.json is cached but model.safetensors is not{hint}") from e
    except EntryNotFoundError as e:
        raise ValueError(f"{where} has no model.safetensors; streetgen loads safetensors only") from e
    except (HfHubHTTPError, OSError) as e:
        raise CheckpointNotFoundError(f"{where}: model.safetensors download failed ({e})") from e
    return config.parent


def fetch_config(repo_id: str, revision: str | None = None, *, token: str | None = None,
                 cache_dir: str | Path | None = None, endpoint: str | None = None) -> dict[str, Any]:
    """config.json of a Hub checkpoint, fetched alone (from the cache when offline or the Hub is unreachable), so
    its architecture is known before the weights are downloaded; CheckpointNotFoundError or ValueError otherwise."""
    endpoint = endpoint or constants.ENDPOINT
    why_offline = hub_unreachable(endpoint)
    try:
        path = huggingface_hub.hf_hub_download(repo_id=repo_id, filename=CONFIG_NAME, revision=revision, token=token,
                                               cache_dir=cache_dir, endpoint=endpoint,
                                               local_files_only=why_offline is not None)
    except (HfHubHTTPError, EntryNotFoundError, OSError) as e:
        where = f" (local cache only: {why_offline})" if why_offline else ""
        raise CheckpointNotFoundError(f"no config.json for Hub repo {repo_id!r}{where}: {_first_line(e)}") from e
    return read_config(Path(path).parent)


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else ""


def push(model_or_folder: Any, repo_id: str, token: str | None = None, *, card: Any = None,
         private: bool | None = None, commit_message: str = "Upload streetgen checkpoint",
         endpoint: str | None = None) -> str:
    """Upload config.json + model.safetensors + README.md to the Hub repo `repo_id`; returns the commit URL."""
    from huggingface_hub import HfApi
    import safetensors

    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(model_or_folder, (str, Path)):
            folder = Path(model_or_folder)
            if card is not None:
                raise ValueError("card= applies to a model; a folder already has its README.md")
        else:
            folder = Path(tmp) / "ckpt"
            model_or_folder.save_pretrained(folder, card=card)
        read_config(folder)
        missing = [f for f in SHIPPED if not (folder / f).is_file()]
        if missing:
            raise ValueError(f"{folder}: cannot push, missing {missing} (a checkpoint is exactly {list(SHIPPED)})")
        try:  # refuse to publish a file we would refuse to load
            with safetensors.safe_open(str(folder / "model.safetensors"), framework="pt") as f:
                f.keys()
        except Exception as e:
            raise ValueError(f"{folder}: model.safetensors is corrupt ({e})") from e
        api = HfApi(endpoint=endpoint, token=token)
        repo = api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo.repo_id, folder_path=folder, allow_patterns=list(SHIPPED),
                                 commit_message=commit_message, repo_type="model")
        return str(info)


def read_config(folder: str | Path) -> dict[str, Any]:
    """config.json of a checkpoint folder, checked to name an architecture; ValueError otherwise."""
    folder = Path(folder)
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise ValueError(f"{folder}: no {CONFIG_NAME}; not a streetgen checkpoint folder")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{folder}: {CONFIG_NAME} is not valid JSON: {e}") from e
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise ValueError(f"{folder}: {CONFIG_NAME} does not name an \"architecture\"")
    return config


def ensure_repo(repo_id: str, *, private: bool = False, token: str | None = None,
                endpoint: str | None = None) -> str:
    """Create the model repo `repo_id` (or find it) and return its URL; ValueError with a short reason when the Hub
    is unreachable, the token is rejected or the namespace is not writable. Trainers call it before training, so
    a bad token fails in seconds instead of at the push after hours."""
    from huggingface_hub import HfApi

    shown = repr(repo_id[:120])
    if not _REPO_ID.match(repo_id):
        raise ValueError(f"--push-to-hub {shown} is not a Hub repo id (NAME or NAMESPACE/NAME)")
    endpoint = endpoint or constants.ENDPOINT
    why = hub_unreachable(endpoint)
    if why:
        raise ValueError(f"--push-to-hub {shown}: cannot create the repo before training: {why}")
    try:
        return str(HfApi(endpoint=endpoint, token=token).create_repo(repo_id, private=private, exist_ok=True))
    except HfHubHTTPError as e:
        status = getattr(e.response, "status_code", None)
        reason = {401: "the Hub rejected the token (set HF_TOKEN or run `hf auth login` with a write token)",
                  403: "this token may not create or write that repo"}.get(status, _first_line(e)[:120])
        raise ValueError(f"--push-to-hub {shown}: {reason}") from e
