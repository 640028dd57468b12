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


class WriteError(ExportError):
    """The file system refused an output file (disk full, file too large, no permission, ...)."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: cannot write the output ({reason})")
        self.path, self.reason = os.fspath(path), reason


def _write_error(path, e: OSError) -> WriteError:
    return WriteError(path, e.strerror or type(e).__name__)


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwriting(outputs, inputs: dict):
    """Raise ExportError when one of ``outputs`` is the same file as one of ``inputs`` (``{what: path}``,
    None for an input not given): writing it would destroy that input."""
    for output in outputs:
        for what, path in inputs.items():
            if output and path and _same_file(output, path):
                raise ExportError(f"{output}: the output would overwrite {what}; choose another output path")


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
    file at ``path`` is left untouched.  A companion left at ``path<suffix>`` by an earlier output
    that the new file does not come with is removed (the new file does not use it).
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
        try:
            yield staged
        except WriteError as e:  # name the user's path, not the staging one
            if os.path.dirname(e.path) != stage:
                raise
            raise WriteError(os.path.join(os.path.dirname(path), os.path.basename(e.path)), e.reason) from None
        if not os.path.exists(staged):
            raise ExportError(f"{path}: nothing was written")
        try:
            written = [suffix for suffix in companions if os.path.exists(staged + suffix)]
            for suffix in written:  # companions first: the model file names them
                os.replace(staged + suffix, path + suffix)
            os.replace(staged, path)
            for suffix in companions:  # a companion of the previous file that the new one does not use
                if suffix not in written and os.path.exists(path + suffix):
                    os.unlink(path + suffix)
        except OSError as e:
            raise _write_error(path, e) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
