"""Writing a file in one step: a crash or an error mid-write leaves the old file as it was."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

__all__ = ["NotAFileError", "write_atomically", "write_files_atomically", "check_folder"]

_KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket")]


class NotAFileError(OSError):
    """The path names something that is not a regular file (a device, a pipe, a folder):
    replacing it with a file would break it, so it is refused."""


def file_mode(path: Path) -> int:
    """The mode of the file being replaced, or that of a new file (0666 less the umask)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _target(path: Path) -> Path:
    """The regular file to replace for `path`: itself, or where its symlink points (the link
    stays a link). Refuses what is not a regular file, and read-only files."""
    try:
        found = os.stat(path)                   # follows symlinks: what a write would reach
    except FileNotFoundError:
        found = None
    except NotADirectoryError:
        raise NotADirectoryError(f"cannot write {path}: a part of its folder is a file, "
                                 "not a folder") from None
    if found is not None:
        if not stat.S_ISREG(found.st_mode):
            kind = next((name for test, name in _KINDS if test(found.st_mode)), "not a file")
            raise NotAFileError(f"refusing to write {path}: it is {kind}, not a regular file; "
                                "give the name of a file to write")
        if not found.st_mode & 0o222 or not os.access(path, os.W_OK):
            raise PermissionError(f"refusing to replace {path}: it is read-only (make it "
                                  f"writable first, or write another file)")
        if _is_standard_output(found):
            raise NotAFileError(f"refusing to write {path}: it is this program's standard "
                                "output (or error), a file that replacing would cut short; "
                                "on the command line write to standard output with -o -, "
                                "or give the name of another file")
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _is_standard_output(found: os.stat_result) -> bool:
    """Is this file where standard output or error goes (/dev/stdout, /proc/self/fd/1, or
    the very file the shell redirected them to)?"""
    for descriptor in (1, 2):
        try:
            stream = os.fstat(descriptor)
        except OSError:
            continue
        if (stream.st_dev, stream.st_ino) == (found.st_dev, found.st_ino):
            return True
    return False


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over
    `path`. Creates the folder if needed; returns the path.

    A symlink is written through (its target is replaced, the link kept). A path that is not
    a regular file (a device, a FIFO, a folder) is refused with NotAFileError, a read-only file
    with PermissionError; on any failure the temporary file is removed and `path` is as it
    was."""
    if os.fspath(path) == "":
        raise ValueError("no file name given: pass the path of the file to write")
    path = Path(path)
    target = _target(path)
    folder = target.parent
    if target is not path and not folder.is_dir():      # a link to a file in no folder
        raise FileNotFoundError(f"cannot write {path}: it is a link to {target}, whose folder "
                                "does not exist")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(f"cannot write {path}: {folder} is not a folder") from None
    try:                       # the name cut short: a long name plus suffixes passes 255 bytes
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name[:64]}.", suffix=".tmp",
                                             dir=folder)
    except PermissionError:
        raise PermissionError(f"cannot write {path}: no permission to create files in "
                              f"{folder}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            handle = None                       # the file object owns it now
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, file_mode(target))  # mkstemp makes 0600; keep the usual mode
        os.replace(temporary, target)
    except BaseException:
        if handle is not None:
            with contextlib.suppress(OSError):
                os.close(handle)
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)
    return path


def check_folder(folder: str | os.PathLike) -> Path:
    """`folder` as a Path, if files can be written into it: it is a folder, or can be made as
    one in a folder that exists. Refused otherwise, saying why."""
    if os.fspath(folder) == "":
        raise ValueError("no folder name given: pass the path of the folder to write")
    folder = Path(folder)
    parent = folder.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise FileNotFoundError(f"cannot write into {folder}: the folder {parent} {what} "
                                f"(create it first: mkdir -p {parent})")
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"cannot write into {folder}: it is a file, not a folder; "
                                 "give the name of a folder (ending in /)")
    return folder


def write_files_atomically(folder: str | os.PathLike, files: dict[str, bytes],
                           stale: re.Pattern | None = None) -> Path:
    """Write several files into `folder`, all or none: every file is written and flushed in a
    temporary folder beside `folder`, and only then moved in (a new folder is renamed into
    place in one step). `folder` is created if its parent exists, refused otherwise. Files
    already there whose names match `stale` and are not in `files` are removed afterwards, so
    the folder holds this set. A name there that is a folder, a device or read-only is refused
    before anything is written; on any failure the temporary folder is removed."""
    folder = check_folder(folder)
    parent = folder.parent
    targets = {name: _target(folder / name) for name in files} if folder.is_dir() else {}
    try:
        temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name[:64]}.", suffix=".tmp",
                                             dir=parent))
    except PermissionError:
        raise PermissionError(f"cannot write into {folder}: no permission to create files in "
                              f"{parent}") from None
    try:
        for name, data in files.items():
            with open(temporary / name, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary / name, file_mode(targets.get(name, folder / name)))
        if not targets and not folder.exists():
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o777 & ~umask)         # mkdtemp makes 0700
            os.rename(temporary, folder)                # the whole folder in one step
            _sync_folder(parent)
            return folder
        for name in files:
            os.replace(temporary / name, targets.get(name, folder / name))
        if stale is not None:
            for old in folder.iterdir():
                if stale.fullmatch(old.name) and old.name not in files and old.is_file():
                    with contextlib.suppress(OSError):
                        old.unlink()
        _sync_folder(folder)
        return folder
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def _sync_folder(folder: Path) -> None:
    """Flush the rename itself to disk (POSIX; a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
