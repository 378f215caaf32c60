"""Local image files of image parts: read only inside allowed folders, only real images, only up
to a size limit.

A data file (a suite, a data set) is data people download and share, so an image part's
``path`` is never trusted: it is read only when it resolves (symbolic links followed) inside the
data file's own folder or a folder allowed on the command line (``--allow-image-root DIR``), when
it is a regular file no larger than the limit (``REDLINE_MAX_IMAGE_MB``, default 20 MiB), and
when its bytes are a PNG, JPEG, GIF or WebP image (magic bytes plus a structural parse of the
header: chunk checksums, frame headers, non-zero dimensions). Anything else raises
:class:`ImageRejected` with the reason, before a single byte of the file is read (the path and
the size are checked first), and the caller rejects the row.

Relative paths are relative to the data file's folder. Which folders are allowed is set with
:func:`image_access` (a context manager: ``redline eval`` binds the suite's folder, ``data
convert`` the input's); with none set, no local image file is read at all.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

#: default size limit of one local image file (``REDLINE_MAX_IMAGE_MB`` overrides it, in MiB)
DEFAULT_MAX_IMAGE_MB = 20
MAX_IMAGE_ENV = "REDLINE_MAX_IMAGE_MB"


class ImageRejected(ValueError):
    """A local image that is not read: outside the allowed folders, missing, not a regular file,
    too large, or not a PNG/JPEG/GIF/WebP image. The message is the reason."""


def default_max_bytes() -> int:
    """The size limit in bytes: ``REDLINE_MAX_IMAGE_MB`` (MiB, > 0, finite) or 20 MiB."""
    raw = os.environ.get(MAX_IMAGE_ENV, "").strip()
    if raw:
        try:
            mb = float(raw)
        except ValueError:
            mb = 0.0
        if 0 < mb < float("inf"):  # "inf" (or 1e400) would crash int(); the default applies
            return int(mb * 1024 * 1024)
    return DEFAULT_MAX_IMAGE_MB * 1024 * 1024


@dataclass(frozen=True)
class ImageAccess:
    """Where local images may be read from: ``roots`` (real paths), ``base`` (the folder
    relative paths are relative to; the data file's) and ``max_bytes``."""

    roots: tuple[Path, ...] = ()
    base: Path | None = None
    max_bytes: int | None = None

    @property
    def limit(self) -> int:
        """The size limit in bytes."""
        return self.max_bytes if self.max_bytes is not None else default_max_bytes()


_ACCESS: ContextVar[ImageAccess | None] = ContextVar("redline_image_access", default=None)


def current_access() -> ImageAccess:
    """The folders local images may be read from here (none unless :func:`image_access` set some)."""
    return _ACCESS.get() or ImageAccess()


@contextmanager
def image_access(data_file: str | Path | None = None, extra_roots: Iterable[str | Path] | None = None,
                 max_bytes: int | None = None) -> Iterator[ImageAccess]:
    """Allow reading local images inside ``data_file``'s folder (relative paths resolve there)
    and inside ``extra_roots``, on top of what an enclosing ``image_access`` allowed."""
    cur = current_access()
    roots = list(cur.roots)
    base = cur.base
    if data_file is not None:  # a file's folder; a data set given as a folder (hf) is its own
        base = Path(os.path.realpath(data_file if Path(data_file).is_dir() else Path(data_file).parent))
        roots.append(base)
    for r in extra_roots or ():
        roots.append(Path(os.path.realpath(r)))
    token = _ACCESS.set(ImageAccess(tuple(dict.fromkeys(roots)), base,
                                    max_bytes if max_bytes is not None else cur.max_bytes))
    try:
        yield current_access()
    finally:
        _ACCESS.reset(token)


def _where(access: ImageAccess) -> str:
    if not access.roots:
        return "no folder is allowed here"
    shown = ", ".join(str(r) for r in access.roots)
    return f"allowed: {shown}; allow another folder with --allow-image-root DIR"


def resolve_image_path(path: str, access: ImageAccess | None = None) -> Path:
    """The real path of a local image, when it lies inside an allowed folder (symbolic links
    are followed first, so a link that leads out counts as leading out)."""
    access = access or current_access()
    if not path or "\x00" in path or not _encodable(path):
        raise ImageRejected(f"image path {path!r} is not a valid path")
    if not access.roots:
        raise ImageRejected(f"local image {path!r} not read: local images are read only inside the "
                            "data file's folder or an --allow-image-root folder, and none is set here")
    p = Path(path)
    if not p.is_absolute():
        p = (access.base or access.roots[0]) / p
    real = Path(os.path.realpath(p))
    if not any(real == r or real.is_relative_to(r) for r in access.roots):
        raise ImageRejected(f"image path {path!r} is outside the allowed folders ({_where(access)})")
    return real


def _encodable(path: str) -> bool:
    """Whether the OS can take ``path`` (a lone surrogate, e.g. ``"\\ud800"``, cannot)."""
    try:
        os.fsencode(path)
    except UnicodeError:
        return False
    return True


def read_image(path: str, access: ImageAccess | None = None) -> tuple[bytes, str]:
    """``(bytes, MIME type)`` of a local image that passes every check (see the module
    docstring); raises :class:`ImageRejected` with the reason otherwise."""
    access = access or current_access()
    real = resolve_image_path(path, access)
    limit = access.limit
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise ImageRejected(f"image file not found: {path}") from None
    except OSError as e:
        raise ImageRejected(f"image file {path!r} cannot be opened ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ImageRejected(f"image path {path!r} is not a regular file")
        if st.st_size > limit:
            raise ImageRejected(f"image file {path!r} is {st.st_size:,} bytes, over the limit of "
                                f"{limit:,} ({MAX_IMAGE_ENV} raises it)")
        head = os.read(fd, 16)
        if not _has_magic(head):  # not an image: the rest of the file is never read
            raise ImageRejected(f"image file {path!r}: not a PNG, JPEG, GIF or WebP image")
        chunks: list[bytes] = [head]
        got = len(head)
        while got <= limit:
            b = os.read(fd, min(1 << 20, limit + 1 - got))
            if not b:
                break
            chunks.append(b)
            got += len(b)
        if got > limit:  # grew while read
            raise ImageRejected(f"image file {path!r} is over the limit of {limit:,} bytes")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        return data, sniff_image(data)
    except ImageRejected as e:
        raise ImageRejected(f"image file {path!r}: {e}") from None


def _has_magic(head: bytes) -> bool:
    return (head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"))


def sniff_image(data: bytes) -> str:
    """The MIME type of a PNG, JPEG, GIF or WebP image whose header parses; raises
    :class:`ImageRejected` otherwise."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            _check_png(data)
            return "image/png"
        if data.startswith(b"\xff\xd8\xff"):
            _check_jpeg(data)
            return "image/jpeg"
        if data[:6] in (b"GIF87a", b"GIF89a"):
            _check_gif(data)
            return "image/gif"
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            _check_webp(data)
            return "image/webp"
    except (struct.error, IndexError) as e:
        raise ImageRejected(f"not a valid image (truncated header: {e})") from None
    raise ImageRejected("not a PNG, JPEG, GIF or WebP image")


def _bad(what: str) -> ImageRejected:
    return ImageRejected(f"not a valid image: {what}")


def _dims(w: int, h: int, kind: str) -> None:
    if not (0 < w <= 65535 and 0 < h <= 65535):
        raise _bad(f"{kind} with impossible dimensions {w}x{h}")


def _check_png(data: bytes) -> None:
    """Every chunk's length and CRC, IHDR first with sane fields, IDAT present, IEND last."""
    i, first, seen_idat = 8, True, False
    while True:
        if i + 12 > len(data):
            raise _bad("PNG ends before its IEND chunk")
        length, ctype = struct.unpack(">I4s", data[i:i + 8])
        end = i + 8 + length
        if end + 4 > len(data):
            raise _bad("PNG chunk runs past the end of the file")
        body = data[i + 8:end]
        if zlib.crc32(ctype + body) != struct.unpack(">I", data[end:end + 4])[0]:
            raise _bad(f"PNG chunk {ctype!r} has a wrong checksum")
        if first:
            if ctype != b"IHDR" or length != 13:
                raise _bad("PNG does not start with an IHDR chunk")
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
            if depth not in (1, 2, 4, 8, 16) or color not in (0, 2, 3, 4, 6):
                raise _bad("PNG header has an impossible bit depth or colour type")
            if not (0 < w < 2 ** 31 and 0 < h < 2 ** 31):
                raise _bad(f"PNG with impossible dimensions {w}x{h}")
            first = False
        seen_idat = seen_idat or ctype == b"IDAT"
        i = end + 4
        if ctype == b"IEND":
            if not seen_idat:
                raise _bad("PNG has no image data")
            return


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _check_jpeg(data: bytes) -> None:
    """Segments from SOI up to a start-of-frame header with non-zero dimensions, then a scan."""
    i, frame = 2, False
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise _bad("JPEG segment marker expected")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # no length
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if length < 2 or i + 2 + length > len(data):
            raise _bad("JPEG segment runs past the end of the file")
        if marker in _SOF:
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            _dims(w, h, "JPEG")
            frame = True
        if marker == 0xDA:  # start of scan: the entropy-coded data follows
            if not frame:
                raise _bad("JPEG scan before a frame header")
            return
        i += 2 + length
    raise _bad("JPEG ends before its image data")


def _check_gif(data: bytes) -> None:
    w, h = struct.unpack("<HH", data[6:10])
    _dims(w, h, "GIF")
    if len(data) < 14 or data.rstrip(b"\x00")[-1:] != b";":
        raise _bad("GIF without its trailer")


def _check_webp(data: bytes) -> None:
    riff = struct.unpack("<I", data[4:8])[0]
    if riff + 8 > len(data) or riff < 12:
        raise _bad("WebP RIFF size does not match the file")
    kind = data[12:16]
    if kind == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise _bad("WebP VP8 frame without its start code")
        w, h = struct.unpack("<HH", data[26:30])
        _dims(w & 0x3FFF, h & 0x3FFF, "WebP")
    elif kind == b"VP8L":
        if data[20] != 0x2F:
            raise _bad("WebP lossless frame without its signature")
        bits = int.from_bytes(data[21:25], "little")
        _dims((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, "WebP")
    elif kind == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        if not (w <= 16384 and h <= 16384):
            raise _bad(f"WebP with impossible dimensions {w}x{h}")
    else:
        raise _bad(f"WebP with an unknown chunk {kind!r}")
