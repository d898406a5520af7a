"""A fake Hugging Face Hub on loopback (stdlib only), and a tiny registered model (with a card and helpers) for
the checkpoint and Hub tests.

The real huggingface_hub client talks to it when HF_ENDPOINT (or HfApi(endpoint=...)) points here:
    upload:   POST /api/repos/create, /api/validate-yaml, /api/models/{repo}/preupload/{rev}, .../commit/{rev}
    download: HEAD/GET /{repo}/resolve/{rev}/{filename}
Only "regular" uploads (base64 in the NDJSON commit body) are offered, so no LFS/xet path is taken.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch
import torch.nn as nn

from streetgen.models.base import StreetgenModel
from streetgen.models.card import ModelCardInfo


class TinyNet(StreetgenModel, architecture="test_tiny"):
    """Embedding + MLP with a tied output layer; small enough to save/load in milliseconds."""

    def __init__(self, num_countries: int = 5, width: int = 8, countries: list[str] | None = None):
        super().__init__()
        self.countries = countries or []
        self.emb = nn.Embedding(num_countries, width)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))
        self.out = nn.Linear(width, num_countries, bias=False)
        self.out.weight = self.emb.weight  # tied: stored once in model.safetensors
        self.register_buffer("scale", torch.tensor(0.5))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.out(self.mlp(self.emb(idx)) * self.scale)


TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
IDX = torch.arange(5)

CARD = ModelCardInfo(description="Tiny test model.", data="5 fake countries, 0 images",
                     training_command="python -m train.judge --steps 12 --lr 3e-4 --out checkpoints/judges/place",
                     steps=12, wall_time_s=3725.0, hardware="2 CPU cores", metrics={"top1": 0.625, "loss": 1.25},
                     data_license="CC-BY-4.0", license="mit", datasets=["streetgen/world-128"], notes="Toy.")


def run_py(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (tests/ and the repo root importable)."""
    full = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)]), **env}
    p = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def saved(tmp_path: Path, name: str = "m", **kw) -> tuple[TinyNet, Path]:
    """A seeded TinyNet saved with CARD under tmp_path/name."""
    torch.manual_seed(0)
    m = TinyNet(**kw)
    m.save_pretrained(tmp_path / name, card=CARD)
    return m, tmp_path / name


class FakeHub:
    """In-memory Hub: repos[repo_id] = {"sha": str, "files": {path: bytes}, "private": bool}; `log` lists
    (method, path). With `token`, POSTs without `Authorization: Bearer <token>` get 401, as the Hub answers a
    bad token."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.repos: dict[str, dict] = {}
        self.log: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        # short poll interval: shutdown() waits for it, once per test
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "FakeHub":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def commit(self, repo_id: str, files: dict[str, bytes]) -> str:
        with self.lock:
            repo = self.repos.setdefault(repo_id, {"sha": None, "files": {}})
            repo["files"].update(files)
            h = hashlib.sha1((repo["sha"] or "").encode())
            for path in sorted(files):
                h.update(path.encode() + b"\0" + files[path])
            repo["sha"] = h.hexdigest()  # 40 hex, like a git commit id
            return repo["sha"]


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    repo_api = re.compile(r"^/api/models/(?P<repo>[^/]+(?:/[^/]+)?)/(?P<op>preupload|commit)/(?P<rev>[^/?]+)")
    resolve = re.compile(r"^/(?P<repo>[^/]+(?:/[^/]+)?)/resolve/(?P<rev>[^/]+)/(?P<file>[^?]+)")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects

        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None,
                  ctype: str = "application/json", head: bool = False) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, obj: object, code: int = 200) -> None:
            self._send(code, json.dumps(obj).encode())

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_POST(self) -> None:
            hub.log.append(("POST", self.path))
            body = self._body()
            if hub.token is not None and self.headers.get("Authorization") != f"Bearer {hub.token}":
                return self._send(401, b'{"error":"Invalid credentials in Authorization header"}')
            if self.path == "/api/repos/create":
                req = json.loads(body)
                repo_id = f"{req['organization']}/{req['name']}" if req.get("organization") else req["name"]
                with hub.lock:
                    if repo_id not in hub.repos:  # as on the Hub, creating an existing repo changes nothing
                        hub.repos[repo_id] = {"sha": None, "files": {}, "private": req.get("visibility") == "private"}
                return self._json({"url": f"{hub.endpoint}/{repo_id}"})
            if self.path.startswith("/api/validate-yaml"):
                return self._json({})
            m = repo_api.match(self.path)
            if m is None:
                return self._json({"error": f"fake hub: no route {self.path}"}, 404)
            if m["op"] == "preupload":
                paths = [f["path"] for f in json.loads(body)["files"]]
                return self._json({"files": [{"path": p, "uploadMode": "regular", "shouldIgnore": False,
                                              "oid": None} for p in paths]})
            files: dict[str, bytes] = {}
            for line in body.decode().splitlines():
                op = json.loads(line) if line.strip() else {}
                if op.get("key") == "file":
                    files[op["value"]["path"]] = base64.b64decode(op["value"]["content"])
                elif op.get("key") not in (None, "header"):
                    return self._json({"error": f"fake hub: unsupported op {op.get('key')}"}, 400)
            sha = hub.commit(m["repo"], files)
            return self._json({"commitUrl": f"{hub.endpoint}/{m['repo']}/commit/{sha}", "commitOid": sha,
                               "pullRequestUrl": None})

        def _resolve(self, head: bool) -> None:
            hub.log.append(("HEAD" if head else "GET", self.path))
            m = resolve.match(self.path)
            repo = hub.repos.get(m["repo"]) if m else None
            if repo is None or repo["sha"] is None:
                return self._send(404, b'{"error":"Repository not found"}', {"X-Error-Code": "RepoNotFound"},
                                  head=head)
            if m["rev"] not in ("main", repo["sha"]):
                return self._send(404, b'{"error":"Revision not found"}', {"X-Error-Code": "RevisionNotFound"},
                                  head=head)
            data = repo["files"].get(m["file"])
            commit = {"X-Repo-Commit": repo["sha"]}
            if data is None:
                return self._send(404, b'{"error":"Entry not found"}', {"X-Error-Code": "EntryNotFound", **commit},
                                  head=head)
            etag = f'"{hashlib.sha256(data).hexdigest()}"'
            self._send(200, data, {**commit, "ETag": etag}, ctype="application/octet-stream", head=head)

        def do_HEAD(self) -> None:
            self._resolve(head=True)

        def do_GET(self) -> None:
            self._resolve(head=False)

    return Handler
