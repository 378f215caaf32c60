"""Where a data command's rows are processed: here (``local``) or on a Ray cluster (``ray``).

``redline data profile`` and ``redline data convert`` call these; ``--executor ray`` goes to
:mod:`redline.data.ray_data` (Ray Data), which gives the same report / output as the local code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from redline.data.formats import FieldMap


def profile(path: Path, fmt: str | None, fmap: FieldMap, opts: Any, on_progress: Callable[[int], None] | None,
            quarantine: Any, image_roots: Iterable[str | Path] | None = None, executor: str = "local",
            ray_address: str | None = None) -> dict[str, Any]:
    """Profile a data file locally (:func:`redline.data.profile.profile_file`) or on Ray.

    Args:
        path: The data file.
        fmt: Its format (None: by extension).
        fmap: The field map.
        opts: The :class:`~redline.data.profile.ProfileOptions`.
        on_progress: Called with the number of rows read.
        quarantine: Where rejected rows go (a :class:`~redline.data.io.Quarantine`).
        image_roots: Folders besides the file's own whose local images may be read.
        executor: ``local`` or ``ray``.
        ray_address: The Ray cluster's ``HOST:PORT`` (None: ``RAY_ADDRESS``, else a local one).

    Returns:
        The profile report.

    Raises:
        InputError: Bad input; an unknown executor; Ray not installed or unreachable.
    """
    if executor != "local" or ray_address:
        from redline.data.ray_data import check_data_executor, profile_on_ray

        check_data_executor(executor, ray_address)  # --ray-address without ray: the eval command's error
        return profile_on_ray(path, fmt, fmap, opts, ray_address, on_progress, quarantine)
    from redline.data.profile import profile_file

    return profile_file(path, fmt, fmap, opts, on_progress, quarantine, image_roots=image_roots)


def convert(src: Path, out: Path, to: str | None, frm: str | None, fmap: FieldMap,
            on_progress: Callable[[int], None] | None, collect_labels: bool, strip_exif: bool = False,
            executor: str = "local", ray_address: str | None = None) -> Any:
    """Convert a data set locally (:func:`redline.data.io.convert`) or on Ray.

    Args:
        src: The input.
        out: The output.
        to: The output format (None: by extension).
        frm: The input format (None: by extension).
        fmap: The field map.
        on_progress: Called with the number of rows converted.
        collect_labels: Spool the written records' labels (to register the output).
        strip_exif: ``--strip-exif`` (local only).
        executor: ``local`` or ``ray``.
        ray_address: The Ray cluster's ``HOST:PORT`` (None: ``RAY_ADDRESS``, else a local one).

    Returns:
        The :class:`~redline.data.io.ConvertResult`.

    Raises:
        InputError: Bad input; an unknown executor; Ray not installed or unreachable; ``--strip-exif``
            on Ray.
    """
    if executor != "local" or ray_address:
        from redline.data.ray_data import check_data_executor, convert_on_ray
        from redline.errors import InputError, Problem

        check_data_executor(executor, ray_address)
        if strip_exif:
            raise InputError("--strip-exif does not run on Ray", [Problem(
                "--executor ray", "EXIF stripping writes image copies beside the output on this machine",
                "convert without --executor ray")])
        return convert_on_ray(src, out, to, frm, fmap, ray_address, on_progress, collect_labels)
    from redline.data.io import convert as convert_local

    return convert_local(src, out, to=to, frm=frm, fmap=fmap, on_progress=on_progress,
                         collect_labels=collect_labels, strip_exif=strip_exif)
