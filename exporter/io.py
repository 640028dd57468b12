"""Writing output files atomically: a failed export never leaves a half-written file behind."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile

from .errors import ExportError

# errors of the file system the output goes to (not of the program): reported, not raised as bugs
_WRITE_ERRNOS = {errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG, errno.ENAMETOOLONG,
                 getattr(errno, "EDQUOT", errno.ENOSPC)}


def _output_directory(path: str) -> str:
    """The directory ``path`` goes to, created if missing; a path that cannot be written is an ExportError."""
    if os.path.isdir(path):
        raise ExportError(f"{path}: is a directory; give a file name for the output")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        blocker = directory
        while blocker and not os.path.exists(blocker) and os.path.dirname(blocker) != blocker:
            blocker = os.path.dirname(blocker)
        why = f"{blocker} is a file, not a directory" if os.path.isfile(blocker) else (e.strerror or type(e).__name__)
        raise ExportError(f"{path}: cannot create the output directory {directory} ({why})") from None
    return directory


def _write_error(path, e: OSError) -> ExportError:
    return ExportError(f"{path}: cannot write the output ({e.strerror or type(e).__name__})")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = os.fspath(path)
    directory = _output_directory(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".partial", dir=directory)
    except OSError as e:
        raise _write_error(path, e) from None
    os.close(fd)
    try:
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it the usual mode
            os.replace(tmp, path)
        except OSError as e:
            if e.errno in _WRITE_ERRNOS or e.filename in (tmp, path):
                raise _write_error(path, e) from None
            raise
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def staged_output(path, companions=(".data",)):
    """Yield a staging path for ``path``: same file name, in a private directory beside ``path``.

    Whatever the block writes there (the file, and ``<name><suffix>`` companions such as ONNX
    external data) is moved onto ``path`` only when the block succeeds, so the block can still
    check the written file and fail; on failure everything staged is removed and an existing
    file at ``path`` is left untouched.
    """
    path = os.fspath(path)
    directory = _output_directory(path)
    name = os.path.basename(path)
    try:
        stage = tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=directory)
    except OSError as e:
        raise _write_error(path, e) from None
    try:
        staged = os.path.join(stage, name)
        yield staged
        if not os.path.exists(staged):
            raise ExportError(f"{path}: nothing was written")
        try:
            for suffix in companions:  # companions first: the model file names them
                if os.path.exists(staged + suffix):
                    os.replace(staged + suffix, path + suffix)
            os.replace(staged, path)
        except OSError as e:
            raise _write_error(path, e) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
