"""Files uploaded on the import page, kept on the server between choosing the file and
confirming its column mapping.

The API imports an upload within its request; the page needs the file across two requests
(upload, then map and run), so it keeps it here. Each upload gets a folder named by a random
token; the client only ever sends that token back, never a path, and a token is accepted
only in the exact shape :func:`secrets.token_hex` makes. The folder records who uploaded
it, so another person holding the token reads nothing. An upload is removed once its import
ran; any left behind (a mapping never confirmed) is removed a day later.

>>> store = UploadStore(Path(tempfile.mkdtemp()))
>>> kept = store.save(actor="user:1", kind="leads", name="a.csv", data=b"email\\n", read={})
>>> store.open(actor="user:1", token=kept.token).path.read_bytes()
b'email\\n'
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from leadfunnel.domain.errors import NotFound

__all__ = ["KEEP_FOR", "StoredUpload", "UploadStore", "default_store"]

KEEP_FOR = timedelta(days=1)
_TOKEN = re.compile(r"[0-9a-f]{32}")
_META = "upload.json"


@dataclass(frozen=True)
class StoredUpload:
    token: str
    kind: str
    #: The file's own name as uploaded (its last path part only).
    name: str
    path: Path
    #: How to read it: ``encoding``, ``delimiter``, ``sheet`` when the person gave them.
    read: dict[str, str]


class UploadStore:
    """Uploads in folders under ``root`` (created private to this user)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self) -> Path:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.root.is_symlink() or self.root.stat().st_uid != os.getuid():
            raise RuntimeError(f"{self.root} is not a private folder of this user")
        return self.root

    def save(self, *, actor: str, kind: str, name: str, data: bytes,
             read: dict[str, str]) -> StoredUpload:  # fmt: skip
        token = secrets.token_hex(16)
        folder = self._folder() / token
        folder.mkdir(mode=0o700)
        path = folder / Path(name).name
        path.write_bytes(data)
        meta = {"actor": actor, "kind": kind, "name": path.name, "read": read}
        (folder / _META).write_text(json.dumps(meta), encoding="utf-8")
        return StoredUpload(token, kind, path.name, path, read)

    def open(self, *, actor: str, token: str) -> StoredUpload:
        """The upload ``token`` names, if ``actor`` made it; else :class:`NotFound`."""
        folder = self.root / token
        try:
            if not _TOKEN.fullmatch(token):
                raise FileNotFoundError(token)
            meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise NotFound("upload", token) from None
        if meta.get("actor") != actor:
            raise NotFound("upload", token)
        return StoredUpload(token, str(meta["kind"]), str(meta["name"]), folder / str(meta["name"]),
                            {str(k): str(v) for k, v in meta["read"].items()})  # fmt: skip

    def discard(self, token: str) -> None:
        if _TOKEN.fullmatch(token):
            shutil.rmtree(self.root / token, ignore_errors=True)

    def prune(self, now: datetime) -> None:
        """Remove uploads older than :data:`KEEP_FOR` (left behind, never mapped)."""
        if not self.root.is_dir():
            return
        cutoff = (now - KEEP_FOR).timestamp()
        for folder in self.root.iterdir():
            try:
                stale = _TOKEN.fullmatch(folder.name) and folder.stat().st_mtime < cutoff
            except OSError:
                continue
            if stale:
                shutil.rmtree(folder, ignore_errors=True)


def default_store() -> UploadStore:
    """The machine's upload folder: in the temporary directory, one per system user."""
    return UploadStore(Path(tempfile.gettempdir()) / f"leadfunnel-uploads-{os.getuid()}")
