"""Writing an output file without harming anything the user did not ask to write: the scripts'
counterpart of pfrt-convert's converter/src/output_file.hpp (same rules, same messages)."""
from __future__ import annotations

import os
import stat
import tempfile
from typing import Optional


class OutputError(Exception):
    """An output path pfrt's scripts will not write (a device, FIFO, directory, ...)."""


def _descriptor_of(path: str) -> Optional[int]:
    if path in ("/dev/stdout", "/dev/stderr"):
        return 1 if path == "/dev/stdout" else 2
    for prefix in ("/dev/fd/", "/proc/self/fd/"):
        if path.startswith(prefix) and path[len(prefix):].isdigit():
            return int(path[len(prefix):])
    return None


def _follow_links(path: str) -> str:
    """The path a chain of symbolic links finally names (which need not exist yet)."""
    p = path
    for _ in range(40):
        if not os.path.islink(p):
            return p
        target = os.readlink(p)
        p = target if os.path.isabs(target) else os.path.join(os.path.dirname(p), target)
    raise OutputError(f"{path}: too many levels of symbolic links")


def atomic_write(path: str, data: bytes) -> None:
    """Write `data` to `path` as pfrt-convert does (converter/src/output_file.hpp): this process's
    descriptors (/dev/stdout, /dev/fd/N) and /dev/null in place; a symbolic link followed; a
    regular file or a new path through a temporary file in the same folder and a rename; anything
    else (a directory, FIFO, socket, device) refused with OutputError."""
    fd_number = _descriptor_of(path)
    if fd_number is not None:
        os.write(fd_number, data)
        return
    real = _follow_links(path)
    mode = None
    if os.path.exists(real):
        st = os.stat(real)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == os.stat("/dev/null").st_rdev:
            with open(real, "wb") as f:
                f.write(data)
            return
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else
                    "a socket" if stat.S_ISSOCK(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                    or stat.S_ISBLK(st.st_mode) else "not a regular file")
            shown = path if real == path else f"{path} (-> {real})"
            raise OutputError(f"{shown} is {kind}: the output must be a regular file or a new path")
        mode = stat.S_IMODE(st.st_mode)
    folder = os.path.dirname(os.path.abspath(real))
    if not os.path.isdir(folder):
        raise OutputError(f"{path}: the folder '{folder}' does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    except OSError as e:
        raise OutputError(f"{path}: cannot create a temporary file in '{folder}': {e.strerror}") from None
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, real)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
