"""The atomic writer behind graph.save, slides and nn.save: a file is replaced in one step or
not at all; what is not a regular file (a device, a FIFO, a folder) and read-only files are
refused; no temporary file is ever left behind."""

import os
import stat

import pytest

from autograd import _files
from autograd._files import NotAFileError, write_atomically


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_writes_and_replaces_keeping_the_mode(tmp_path):
    target = tmp_path / "a.txt"
    assert write_atomically(target, b"one") == target and target.read_bytes() == b"one"
    target.chmod(0o640)
    write_atomically(str(target), b"two")
    assert target.read_bytes() == b"two" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert names(tmp_path) == ["a.txt"]


def test_a_new_file_gets_the_usual_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        write_atomically(tmp_path / "new.txt", b"x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644   # not mkstemp's 0600


def test_an_empty_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="no file name given"):
        write_atomically("", b"x")
    assert names(tmp_path) == []


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(NotAFileError, match="it is a folder, not a regular file"):
        write_atomically(tmp_path / "folder", b"x")
    assert (tmp_path / "folder").is_dir() and names(tmp_path) == ["folder"]


def test_a_fifo_is_refused_and_left_as_it_was(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotAFileError, match="FIFO"):
        write_atomically(fifo, b"x")                 # would block forever if opened
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and names(tmp_path) == ["pipe"]


def test_a_character_device_is_refused(tmp_path):
    try:                                             # a private /dev/null: harmless to test on
        device = tmp_path / "null"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError):
        device = "/dev/null"                         # not root: cannot be replaced anyway
    with pytest.raises(NotAFileError, match="character device"):
        write_atomically(device, b"x")
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_symlink_is_written_through_and_kept(tmp_path):
    real = tmp_path / "real.txt"
    real.write_bytes(b"old")
    link = tmp_path / "link.txt"
    link.symlink_to(real.name)                       # relative, as people make them
    write_atomically(link, b"new")
    assert link.is_symlink() and os.readlink(link) == "real.txt"
    assert real.read_bytes() == b"new" and names(tmp_path) == ["link.txt", "real.txt"]


def test_a_symlink_to_a_fifo_or_to_standard_output_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    link = tmp_path / "to-pipe"
    link.symlink_to(tmp_path / "pipe")
    with pytest.raises(NotAFileError, match="FIFO"):
        write_atomically(link, b"x")
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(link).st_mode)
    read, write = os.pipe()                          # what /proc/self/fd/1 is under a pipe
    try:
        with pytest.raises(NotAFileError, match="FIFO"):
            write_atomically(f"/proc/self/fd/{write}", b"x")
    finally:
        os.close(read)
        os.close(write)


def test_a_read_only_file_is_respected(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_bytes(b"precious")
    target.chmod(0o444)
    with pytest.raises(PermissionError, match="it is read-only"):
        write_atomically(target, b"x")               # even as root, who could replace it
    assert target.read_bytes() == b"precious" and names(tmp_path) == ["keep.txt"]


@pytest.mark.parametrize("failing", ["write", "fsync", "chmod", "replace"])
def test_every_failure_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, failing):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise OSError(f"simulated {failing} failure")
    if failing == "write":                           # a full disk, say
        real_fdopen = os.fdopen

        def fdopen(*args, **kwargs):
            file = real_fdopen(*args, **kwargs)
            file.write = fail
            return file
        monkeypatch.setattr(_files.os, "fdopen", fdopen)
    else:
        monkeypatch.setattr(_files.os, failing, fail)
    with pytest.raises(OSError, match=f"simulated {failing} failure"):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old" and names(tmp_path) == ["a.txt"]


def test_an_interrupt_mid_write_leaves_no_temporary(tmp_path, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(_files.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(tmp_path / "a.txt", b"x")
    assert names(tmp_path) == []


def test_a_folder_without_write_permission_names_the_folder(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    if hasattr(os, "geteuid") and os.geteuid() == 0:   # root may write anyway: refuse as the OS
        def refused(*args, **kwargs):                   # would for anyone else
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(_files.tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError, match=f"no permission to create files in {folder}"):
        write_atomically(folder / "a.txt", b"x")
    assert names(folder) == []


def test_a_file_where_a_folder_should_be_is_named(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        write_atomically(tmp_path / "file" / "a.txt", b"x")


def test_standard_output_redirected_to_a_file_is_not_replaced(tmp_path):
    """/dev/stdout and /proc/self/fd/1 are links to the file standard output was redirected
    to: replacing that file would cut short what the program printed."""
    import subprocess
    import sys
    log = tmp_path / "log.txt"
    for target in ("/dev/stdout", "/proc/self/fd/1"):
        with open(log, "wb") as out:
            done = subprocess.run(
                [sys.executable, "-c", "import sys; from autograd._files import "
                 "write_atomically as w; print('printed', flush=True); w(sys.argv[1], b'x')",
                 target], stdout=out, stderr=subprocess.PIPE, check=False)
        assert b"NotAFileError" in done.stderr and b"standard output" in done.stderr
        assert log.read_bytes() == b"printed\n"


def test_the_longest_name_gets_a_temporary_beside_it(tmp_path):
    name = "n" * 255
    write_atomically(tmp_path / name, b"x")
    assert names(tmp_path) == [name]
