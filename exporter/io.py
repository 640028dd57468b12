"""Writing a command's outputs: staged, then moved into place together, last.

Every command writes each of its output files into a private staging directory beside the file's
destination (``.l2o-<host>-<pid>-<random>.partial``: a short name, so that any output name the file
system allows can be staged).  Only when the whole command has succeeded are the staged files moved
onto their destinations, one ``rename`` each, with SIGINT/SIGTERM/SIGHUP held back meanwhile; a
failure, an interrupt or a signal before that removes everything staged and leaves every existing
file as it was.  A staging directory left by a run that was killed outright (SIGKILL, a power cut)
is removed by the next run that writes into the same directory, once its process is gone.

What an output path may be: a new file, or an existing regular file, which is replaced.  A symbolic
link is followed: its target is replaced (atomically, the link stays); a link to nothing is
refused, as are directories, devices, FIFOs and sockets.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import socket
import stat
import tempfile
import threading
import warnings
import zlib

from .errors import ExportError

# errors of the file system the output goes to (not of the program): reported, not raised as bugs
_WRITE_ERRNOS = {errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG, errno.ENAMETOOLONG,
                 getattr(errno, "EDQUOT", errno.ENOSPC)}

_HOST = f"{zlib.crc32(socket.gethostname().encode('utf-8', 'replace')) & 0xFFFF:04x}"
_STAGE_PREFIX, _STAGE_SUFFIX = ".l2o-", ".partial"
_STAGE_NAME = re.compile(r"^\.l2o-(?P<host>[0-9a-f]{4})-(?P<pid>\d{1,10})-[A-Za-z0-9_]+\.partial$")
_HELD_SIGNALS = tuple(getattr(signal, s) for s in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, s))


class WriteError(ExportError):
    """The file system refused an output file (disk full, file too large, no permission, ...)."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: cannot write the output ({reason})")
        self.path, self.reason = os.fspath(path), reason


class OutputWarning(UserWarning):
    pass


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


_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def destination(path) -> str:
    """The file an output path will replace or create: ``path`` itself, or the target of a symbolic
    link.  Refuses (ExportError) an empty name, a directory, a device, FIFO or socket, and a link to
    nothing."""
    path = os.fspath(path)
    if not path:
        raise ExportError("the output path is empty; give a file name for the output")
    if path.endswith(("/", os.sep)) or os.path.basename(path) in (".", ".."):
        raise ExportError(f"{path}: names a directory; give a file name for the output")
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # a new file (its directory is made, or refused, later)
        return os.path.abspath(path)
    except OSError as e:
        raise _write_error(path, e) from None
    target = path
    if stat.S_ISLNK(st.st_mode):
        target = os.path.realpath(path)
        try:
            st = os.stat(target)
        except OSError:
            raise ExportError(f"{path}: is a symbolic link to {target}, which does not exist; refusing to create a "
                              f"file through it (remove the link or give its target)") from None
    if stat.S_ISDIR(st.st_mode):
        raise ExportError(f"{path}: is a directory; give a file name for the output")
    if not stat.S_ISREG(st.st_mode):
        raise ExportError(f"{path}: is {_kind(st.st_mode)}, not a regular file; refusing to replace it")
    return os.path.abspath(target)


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # EPERM: it exists (another user's)
        return False
    return False


def remove_stale_stages(directory):
    """Remove the staging directories (or files) that runs on this host left in ``directory`` when they
    were killed: named by our pattern, owned by this user, of a process that is gone."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        m = _STAGE_NAME.match(name)
        if not m or m["host"] != _HOST or int(m["pid"]) == os.getpid() or not _process_gone(int(m["pid"])):
            continue
        path = os.path.join(directory, name)
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if st.st_uid != os.getuid():
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(path, ignore_errors=True)
            elif stat.S_ISREG(st.st_mode):
                os.unlink(path)


@contextlib.contextmanager
def _signals_held():
    """SIGINT/SIGTERM/SIGHUP wait (and are delivered after) the block: the moves are not cut in two."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _Output:
    def __init__(self, path, dest, staged, companions, mode):
        self.path, self.dest, self.staged, self.companions, self.mode = path, dest, staged, companions, mode


class StagedOutputs:
    """The output files of one command.  :meth:`add` gives the path to write each one at; the files are
    moved onto their destinations by :meth:`commit`, all together, or removed by :meth:`discard`.
    Use it through :func:`staged_outputs`."""

    def __init__(self):
        self._outputs: list[_Output] = []
        self._stages: dict[str, str] = {}  # destination directory -> its staging directory
        self._created: list[str] = []  # directories created for the outputs (removed again on failure)

    def add(self, path, companions=None, keep_mode: bool = True) -> str:
        """Stage the output ``path``; returns the path to write it at (same file name, in a staging
        directory beside the destination).

        ``companions`` maps a suffix (``".data"``) to a function ``(destination, companion) -> bool``
        telling whether the file now at ``destination`` uses that companion file: the staged file may
        come with ``<name><suffix>`` (moved along), and a companion of the previous file that the new
        one does not come with is removed, but only when that function vouches for it.
        ``keep_mode``: a replaced file keeps its permissions (else new files get the umask's).
        """
        path = os.fspath(path)
        dest = destination(path)
        if any(o.dest == dest for o in self._outputs):
            raise ExportError(f"{path}: given as two outputs of this command")
        directory = self._make_directory(path, os.path.dirname(dest))
        stage = self._stages.get(directory)
        if stage is None:
            remove_stale_stages(directory)
            try:
                stage = tempfile.mkdtemp(prefix=f"{_STAGE_PREFIX}{_HOST}-{os.getpid()}-", suffix=_STAGE_SUFFIX,
                                         dir=directory)
            except OSError as e:
                raise _write_error(path, e) from None
            self._stages[directory] = stage
        mode = 0o666 & ~_umask()
        if keep_mode and os.path.exists(dest):
            mode = stat.S_IMODE(os.stat(dest).st_mode)
        output = _Output(path, dest, os.path.join(stage, os.path.basename(dest)), dict(companions or {}), mode)
        self._outputs.append(output)
        return output.staged

    def _make_directory(self, path, directory) -> str:
        """``directory``, created if missing (noting what was created); a path that cannot be written is
        an ExportError."""
        missing = []
        d = directory
        while d and not os.path.exists(d) and os.path.dirname(d) != d:
            missing.append(d)
            d = os.path.dirname(d)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as e:
            blocker = directory
            while blocker and not os.path.exists(blocker) and os.path.dirname(blocker) != blocker:
                blocker = os.path.dirname(blocker)
            why = f"{blocker} is a file, not a directory" if os.path.isfile(blocker) else (e.strerror or type(e).__name__)
            raise ExportError(f"{path}: cannot create the output directory {directory} ({why})") from None
        self._created.extend(missing)  # deepest first
        return directory

    def user_path(self, path) -> str:
        """The path the user gave for a staged file (or a companion of one); other paths as they are."""
        path = os.fspath(path)
        for o in self._outputs:
            if path == o.staged or path.startswith(o.staged) and path[len(o.staged):] in o.companions:
                return o.path + path[len(o.staged):]
        for directory, stage in self._stages.items():
            if os.path.dirname(path) == stage:
                near = next((o.path for o in self._outputs if os.path.dirname(o.dest) == directory), None)
                return os.path.join(os.path.dirname(near), os.path.basename(path)) if near else path
        return path

    def latest(self) -> str:
        """The output added last (the one being written, most likely), as the user named it."""
        return self._outputs[-1].path if self._outputs else "the output"

    def _in_stage(self, path) -> bool:
        return bool(path) and any(os.path.dirname(os.fspath(path)) == s for s in self._stages.values())

    def commit(self):
        """Move every staged file onto its destination (companions first), with the usual signals held
        back; a move that fails puts back what was already moved.  Then the staging is removed."""
        plan, removals = self._plan()
        taken = {os.path.basename(staged) for staged, *_ in plan}
        with _signals_held():
            moved = []  # (destination, backup of the file it replaced or None, whether there was one)
            try:
                for i, (staged, dest, output) in enumerate(plan):
                    existed = os.path.lexists(dest)
                    backup = os.path.join(os.path.dirname(staged), _free_name(f".prev-{i}", taken))
                    try:
                        os.link(dest, backup)
                    except OSError:  # no previous file, or a file system without hard links
                        backup = None
                    os.replace(staged, dest)
                    moved.append((dest, backup, existed))
            except OSError as e:
                for dest, backup, existed in reversed(moved):  # put back what was there before
                    with contextlib.suppress(OSError):
                        if backup:
                            os.replace(backup, dest)
                        elif not existed:
                            os.unlink(dest)
                raise _write_error(output.path + dest[len(output.dest):], e) from None
            for companion, user in removals:
                try:
                    os.unlink(companion)
                except OSError as e:
                    warnings.warn(f"{user}: cannot remove it ({e.strerror}); the new output does not use it",
                                  OutputWarning, stacklevel=2)
            self._created.clear()
            self.discard()

    def _plan(self):
        """``([(staged, destination, output)], [(companion to remove, as the user names it)])``;
        refuses (ExportError) a staged file missing, or a companion that is not ours to replace."""
        plan, removals = [], []
        for o in self._outputs:
            if not os.path.exists(o.staged):
                raise ExportError(f"{o.path}: nothing was written")
            if destination(o.path) != o.dest:
                raise ExportError(f"{o.path}: changed while the command ran; nothing written")
            linked = o.dest != os.path.abspath(o.path)  # o.path is a symbolic link to o.dest
            for suffix, uses in o.companions.items():
                staged, dest = o.staged + suffix, o.dest + suffix
                user = dest if linked else o.path + suffix
                present = os.path.lexists(dest)
                ours = present and _regular(dest) and os.path.exists(o.dest) and uses(o.dest, dest)
                if os.path.exists(staged):
                    if linked and not _same_file(os.path.dirname(o.dest), os.path.dirname(os.path.abspath(o.path))):
                        raise ExportError(f"{o.path}: is a symbolic link to {o.dest}; its {suffix} companion would "
                                          f"go beside that target, where a reader opening {o.path} does not look for "
                                          f"it: give the target itself as the output")
                    if present and not ours:
                        raise ExportError(f"{user}: exists and is not used by the file now at {o.path}; refusing to "
                                          f"replace it (move it away, or choose another output name)")
                    plan.append((staged, dest, o))
                elif ours:
                    removals.append((dest, user))
                elif present:
                    warnings.warn(f"{user}: left as it is: neither the new {o.path} nor the file it replaces uses it",
                                  OutputWarning, stacklevel=3)
            with contextlib.suppress(OSError):
                os.chmod(o.staged, o.mode)
            plan.append((o.staged, o.dest, o))
        return plan, removals

    def discard(self):
        """Remove everything staged, and the directories created for the outputs."""
        for stage in self._stages.values():
            shutil.rmtree(stage, ignore_errors=True)
        self._stages.clear()
        for d in self._created:
            with contextlib.suppress(OSError):
                os.rmdir(d)
        self._created.clear()


def _free_name(name, taken) -> str:
    while name in taken:
        name = "_" + name
    taken.add(name)
    return name


def _regular(path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def staged_outputs():
    """``with staged_outputs() as outputs: staged = outputs.add(path); <write staged>``: the files are
    moved into place when the block succeeds, together; on any failure (or interrupt) nothing is.
    Write errors of staged files name the user's path."""
    outputs = StagedOutputs()
    try:
        try:
            yield outputs
        except WriteError as e:
            raise WriteError(outputs.user_path(e.path), e.reason) from None
        except OSError as e:
            if e.errno in _WRITE_ERRNOS or outputs._in_stage(e.filename):
                raise _write_error(outputs.user_path(e.filename) if e.filename else outputs.latest(), e) from None
            raise
        outputs.commit()
    except BaseException:
        outputs.discard()
        raise


@contextlib.contextmanager
def atomic_output(path):
    """Yield a path to write ``path``'s new content at; it replaces ``path`` only if the block succeeds."""
    with staged_outputs() as outputs:
        yield outputs.add(path)


@contextlib.contextmanager
def staged_output(path, companions=None):
    """One output, with ``companions`` (see :meth:`StagedOutputs.add`)."""
    with staged_outputs() as outputs:
        yield outputs.add(path, companions=companions)
