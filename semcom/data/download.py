"""Checksum-verified, atomic download of dataset files.

Only the standard library is used.  Tests replace :data:`urlopen` (a module
attribute looked up at call time) to serve local bytes.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Sequence

log = logging.getLogger("semcom.data")

__all__ = ["DownloadError", "download_file", "urlopen", "DEFAULT_TIMEOUT"]

#: seconds per connection attempt / socket read
DEFAULT_TIMEOUT = 20.0

#: the URL opener; replaced in tests
urlopen = urllib.request.urlopen

_USER_AGENT = "semcom-dataset-fetcher/1 (+python urllib)"
_CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror delivered the file with the expected checksum."""


def download_file(
    urls: Sequence[str],
    dest: os.PathLike | str,
    md5: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download the first of ``urls`` whose content has MD5 ``md5`` to ``dest``.

    Each attempt streams into a temporary file next to ``dest`` and is moved
    into place with :func:`os.replace` only once its checksum is right, so
    ``dest`` never holds a partial or wrong file.  A failed or mismatching
    attempt removes its temporary file and tries the next URL.  Raises
    :class:`DownloadError` listing every attempt when all fail.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            h = hashlib.md5()
            size = 0
            with os.fdopen(fd, "wb") as out:
                req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
                with urlopen(req, timeout=timeout) as resp:
                    while True:
                        chunk = resp.read(_CHUNK)
                        if not chunk:
                            break
                        h.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            got = h.hexdigest()
            if got != md5.lower():
                failures.append(f"{url}: md5 {got} != expected {md5} ({size} bytes)")
                log.warning("download of %s: md5 mismatch (%s != %s), discarded", url, got, md5)
                continue
            os.replace(tmp, dest)
            log.info("downloaded %s -> %s (%d bytes, md5 ok)", url, dest, size)
            return dest
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
            log.info("download of %s failed: %s", url, exc)
        finally:
            if tmp.exists():
                try:
                    tmp.unlink()
                except OSError:
                    pass
    raise DownloadError(
        f"could not download {dest.name}: "
        + ("; ".join(failures) if failures else "no download URL known")
    )
