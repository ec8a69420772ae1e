"""The trace archive: one zip per run, named `<UTC time>-<git short sha or nogit>-<target>.zip`.

Writes the files it is given under fixed names and a manifest.json saying
what each is and how to open it. Each piece is in the archive once: files
that are compressed already (the Playwright trace zip, PNG) are stored, the
rest deflated (JSON traces and heap snapshots shrink about tenfold). Written
to a temporary name beside the target and renamed, so a half-written
archive never has the final name.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ALREADY_COMPRESSED = (".zip", ".png", ".jpeg", ".jpg")
SLUG_MAX = 40

# What each file is and how to open it (manifest.json, and the docs).
DESCRIPTIONS = {
    "results.json": "the measured results (schema bench/1): every metric's raw samples, env, config",
    "summary.md": "the run's verdict, budgets and metrics in GitHub Markdown (as --markdown writes it)",
    "report.html": "the HTML report with plots; opens offline in any browser",
    "filmstrip.png": "one burst as the user saw it: a frame every --filmstrip-interval ms (unmeasured pass)",
    "chrome-trace.json": "Chrome performance trace of the unmeasured pass: DevTools > Performance > "
                         "Load profile, or https://ui.perfetto.dev",
    "playwright-trace.zip": "Playwright trace of the unmeasured pass: `playwright show-trace playwright-trace.zip` "
                            "(actions, screenshots, DOM snapshots, network, WebSocket frames)",
    "heapsnapshots/": "V8 heap snapshots the memory scenario kept: DevTools > Memory > Load",
}


def slug(text: str) -> str:
    """'Bundled chat app' -> 'bundled-chat-app' (file-name safe, at most SLUG_MAX characters)."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:SLUG_MAX].strip("-")
    return cleaned or "target"


def archive_name(started_at: str | None, git_revision: str | None, target_name: str) -> str:
    """From the results' env: its start time (UTC), the git short sha without "-dirty", the target."""
    when = dt.datetime.fromisoformat(started_at) if started_at else dt.datetime.now(dt.timezone.utc)
    when = when.astimezone(dt.timezone.utc)
    sha = git_revision.split("-")[0] if git_revision else "nogit"
    return f"{when:%Y%m%dT%H%M%SZ}-{sha}-{slug(target_name)}.zip"


@dataclass(frozen=True)
class Entry:
    name: str                      # path inside the archive
    path: Path | None = None       # a file on disk, or
    data: bytes | None = None      # its bytes


def description(name: str) -> str:
    return DESCRIPTIONS.get(name) or DESCRIPTIONS.get(name.split("/")[0] + "/", "")


def _member(name: str) -> zipfile.ZipInfo:
    """A member written from bytes: now as its time, and readable by all when unpacked (not 0600)."""
    info = zipfile.ZipInfo(name, date_time=dt.datetime.now().timetuple()[:6])
    info.external_attr = 0o644 << 16
    return info


def write_archive(path: Path, entries: list[Entry], manifest: dict) -> int:
    """Write the zip atomically; return its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    contents = [{"name": e.name, "what": description(e.name)} for e in entries]
    manifest = {**manifest, "contents": contents}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_member("manifest.json"), json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                             compress_type=zipfile.ZIP_DEFLATED)
            for entry in entries:
                method = zipfile.ZIP_STORED if entry.name.endswith(ALREADY_COMPRESSED) else zipfile.ZIP_DEFLATED
                if entry.path is not None:
                    archive.write(entry.path, entry.name, compress_type=method)
                else:
                    archive.writestr(_member(entry.name), entry.data, compress_type=method)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.stat().st_size
