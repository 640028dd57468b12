"""Reading ``model.npz`` safely and binding its arrays to a layer graph.

``np.savez('model.npz', *get_all_param_values(net))`` stores ``arr_0..arr_N`` in ``get_all_params``
order.  Pickled objects are refused unless the caller explicitly trusts the file: a pickle runs code.
The tool may embed the architecture manifest in the npz, in the zip archive's comment (earlier
versions stored it as a uint8 array, which is still read); no pickle is involved.
"""
from __future__ import annotations

import os
import re
import shutil
import tokenize
import warnings
import zipfile
import zlib

import numpy as np

from .errors import WeightsError
from .ir import LayerGraph
from .safe_pickle import load_pickle_weights, load_pickled, looks_like_pickle

MANIFEST_KEY = "__lasagne2onnx_manifest__"
_ARR = re.compile(r"^arr_(\d+)$")


class WeightsWarning(UserWarning):
    pass


def load_weights(path, trust_pickle: bool = False, lazy: bool = False):
    """The parameter arrays of a weights file: ``(weights, manifest_json_or_None, extras)``.

    An ``.npz`` (``np.savez(path, *get_all_param_values(net))``, perhaps with an embedded manifest),
    or, with ``trust_pickle``, a pickle of the parameter list: a Lasagne model-zoo ``.pkl`` dict
    (whose other entries, such as ``'synset words'``, come back in ``extras``) or a plain list.
    ``lazy``: an npz's arrays stay in the archive (see :func:`load_npz`) until :func:`bind_weights`
    has checked them against the architecture.
    """
    path = os.fspath(path)
    if os.path.isfile(path) and not zipfile.is_zipfile(path) and looks_like_pickle(path):
        weights, extras = load_pickle_weights(path, trust_pickle)
        return weights, None, extras
    weights, manifest = load_npz(path, trust_pickle, lazy=lazy)
    return weights, manifest, {}


def load_npz(path, trust_pickle: bool = False, lazy: bool = False):
    """Return ``(weights, manifest_json_or_None)``; ``weights`` maps ``arr_<i>`` to arrays.

    Each array is read straight from the archive into its own buffer (one copy, no intermediate
    bytes objects), after checking that its header agrees with the member's size: a corrupt header
    cannot ask for an absurd allocation, and the zip CRC of every member is verified.
    ``lazy``: the values are :class:`NpzMember` s, read (and their headers too) only when asked for,
    so that nothing is decompressed before the architecture has vetted each array's shape and dtype.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise WeightsError(f"{path}: weights file not found")
    if os.path.isdir(path):
        raise WeightsError(f"{path}: is a directory, not an .npz file")
    if not zipfile.is_zipfile(path):
        raise WeightsError(f"{path}: not an .npz file (not a zip archive, or truncated)")
    weights, manifest = {}, None
    try:
        zf = zipfile.ZipFile(path)  # lazy members keep it open: they read the file that was vetted
        try:
            _refuse_cut_comment(path)
            for info in zf.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if key in weights or (key == MANIFEST_KEY and manifest is not None):
                    raise WeightsError(f"{path}: array {key!r} appears twice in the archive")
                member = NpzMember(zf, path, info, key, trust_pickle)
                if key == MANIFEST_KEY:
                    arr = member.read(limit=_MAX_MANIFEST_BYTES)
                    if arr.dtype != np.uint8 or arr.ndim != 1:
                        raise WeightsError(f"{path}: the embedded manifest {key!r} is not a uint8 vector")
                    manifest = arr.tobytes().decode("utf-8")
                    continue
                weights[key] = member if lazy else member.read()
            manifest = _comment_manifest(zf.comment, path) or manifest
        except BaseException:
            zf.close()
            raise
        if not lazy:
            zf.close()
    except WeightsError:
        raise
    except _ZIP_ERRORS as e:
        raise _corrupt(path, e) from None
    return weights, manifest


_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError, OSError, KeyError,
               UnicodeDecodeError, SyntaxError, TypeError, OverflowError, NotImplementedError, RuntimeError)


def _corrupt(path, e) -> WeightsError:
    return WeightsError(f"{path}: cannot read npz ({type(e).__name__}: {_one_line(e)}); "
                        f"the file may be truncated or corrupt")


def _refuse_cut_comment(path):
    """A file cut short inside its zip comment (where the manifest is embedded) still opens, with the
    comment silently shortened: report the truncation, not a corrupt manifest."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - (0xFFFF + 22)))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at >= 0 and len(tail) - at >= 22:
        declared = int.from_bytes(tail[at + 20:at + 22], "little")
        if declared > len(tail) - at - 22:
            raise WeightsError(f"{path}: the file is truncated (its zip comment, which holds an embedded manifest, "
                               f"is cut short: {len(tail) - at - 22:,} of {declared:,} bytes)")


_CHUNK = 1 << 24  # bytes read at a time: no transient copy larger than this


class NpzMember:
    """One ``.npy`` member of an open npz, known by name until read: :attr:`shape` and :attr:`dtype`
    come from its header (read on first use, without the data); :meth:`read` decompresses the array."""

    def __init__(self, zf, path, info, key, trust_pickle=False):
        self.zf, self.path, self.info, self.key, self.trust_pickle = zf, path, info, key, trust_pickle
        self._header = None

    def header(self):
        """``(shape, fortran_order, dtype)``, read once."""
        if self._header is None:
            try:
                with self.zf.open(self.info) as fp:
                    self._header = _read_header(fp, self.key, self.path)
            except WeightsError:
                raise
            except _ZIP_ERRORS as e:
                raise _corrupt(self.path, e) from None
        return self._header

    @property
    def shape(self):
        return tuple(self.header()[0])

    @property
    def dtype(self):
        return self.header()[2]

    def read(self, limit=None) -> np.ndarray:
        """The array; ``limit``: the most bytes its data may take (checked before decompressing it)."""
        try:
            return _read_member(self.zf, self.info, self.key, self.path, self.trust_pickle, limit, self._header)
        except WeightsError:
            raise
        except _ZIP_ERRORS as e:
            raise _corrupt(self.path, e) from None


def _read_member(zf, info, key, path, trust_pickle, limit=None, expected_header=None):
    """One ``.npy`` member of the archive as an array, read in place into its final buffer.  No data is
    decompressed when it would take more than ``limit`` bytes (a pickled member: its pickle)."""
    with zf.open(info) as fp:
        shape, fortran, dtype = header = _read_header(fp, key, path)
        if expected_header is not None and _header_key(header) != _header_key(expected_header):
            raise WeightsError(f"{path}: array {key!r} changed while it was being read")
        if dtype.hasobject:
            if not trust_pickle:
                raise WeightsError(
                    f"{path}: array {key!r} contains pickled Python objects, which can run code when "
                    f"loaded; refusing (pass --trust-pickle only if you trust this file)")
            pickled = info.file_size - fp.tell()
            if limit is not None and pickled > limit:
                raise WeightsError(f"{path}: array {key!r} is a pickle of {pickled:,} bytes, more than the "
                                   f"{limit:,} its parameter can need; refusing to read it")
            return _trusted_pickle_member(fp, key, path)
        count = 1
        for d in shape:
            count *= int(d)
        nbytes = count * dtype.itemsize
        available = info.file_size - fp.tell()
        if nbytes != available:
            raise WeightsError(
                f"{path}: array {key!r} claims shape {tuple(shape)} {dtype} ({nbytes:,} bytes) but the archive "
                f"holds {available:,} bytes for it; the file is truncated or corrupt")
        if limit is not None and nbytes > limit:
            raise WeightsError(f"{path}: array {key!r} takes {nbytes:,} bytes, more than the {limit:,} allowed")
        flat = np.empty(count, dtype)
        buf = memoryview(flat).cast("B") if nbytes else memoryview(b"")
        pos = 0
        while pos < nbytes:
            n = fp.readinto(buf[pos:pos + _CHUNK])
            if not n:
                raise WeightsError(f"{path}: array {key!r} is truncated")
            pos += n
        fp.read(1)  # reach the end of the member so that zipfile verifies its CRC
    if fortran:
        return flat.reshape(tuple(shape)[::-1]).T
    return flat.reshape(shape)


def _header_key(header):
    shape, fortran, dtype = header
    return tuple(shape), bool(fortran), dtype.str


# what numpy's .npy header parser raises on a corrupt header (its Python 2 fallback tokenizes it)
_HEADER_ERRORS = (ValueError, SyntaxError, TypeError, KeyError, tokenize.TokenError, UnicodeDecodeError,
                  RecursionError, OverflowError, EOFError)


def _read_header(fp, key, path):
    """``(shape, fortran_order, dtype)`` of a ``.npy`` member, validated; a bad header is a WeightsError."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:  # 3.0 exists only for structured dtypes with non-latin1 field names: never weights
            raise WeightsError(f"{path}: array {key!r} uses .npy format version {version[0]}.{version[1]}, "
                               f"which does not hold plain numeric arrays")
    except _HEADER_ERRORS as e:
        raise WeightsError(f"{path}: array {key!r} has a corrupt .npy header ({type(e).__name__}: "
                           f"{_one_line(e)})") from None
    if any(d < 0 for d in shape):
        raise WeightsError(f"{path}: array {key!r} has a corrupt .npy header (negative shape {tuple(shape)})")
    if dtype.names is not None or dtype.subdtype is not None:
        raise WeightsError(f"{path}: array {key!r} has the structured dtype {dtype}, not plain numbers")
    return shape, fortran, dtype


def _trusted_pickle_member(fp, key, path):
    """An object array the user explicitly trusts (``fp`` is past its .npy header): unpickled with
    the arrays-only unpickler, and required to hold numbers."""
    arr = load_pickled(fp, f"{path}: array {key!r}")
    if not isinstance(arr, np.ndarray):  # the pickle produced some other object
        raise WeightsError(f"{path}: array {key!r} unpickles to a {type(arr).__name__}, not an array")
    if arr.ndim == 0 and isinstance(arr.item(), np.ndarray):
        arr = arr.item()
    if arr.dtype == object:
        # numbers only: containers (which pickle's memo can nest into an exponential tree) are refused
        if not all(isinstance(v, (int, float, np.number)) for v in arr.flat):
            raise WeightsError(f"{path}: array {key!r} is an object array, not numeric weights")
        try:
            arr = np.asarray(arr.tolist(), dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise WeightsError(f"{path}: array {key!r} is an object array, not numeric weights") from None
    return arr


def _all_finite(arr, chunk: int = 1 << 22) -> bool:
    """np.isfinite(arr).all() without a boolean array the size of ``arr``."""
    flat = arr.reshape(-1)
    return all(np.isfinite(flat[i:i + chunk]).all() for i in range(0, flat.size, chunk))


def _one_line(e) -> str:
    return " ".join(str(e).split())[:300]


def bind_weights(graph: LayerGraph, weights: dict, path: str = "weights") -> dict:
    """Check that ``weights`` fits ``graph`` (count, names and shapes) and return them as float32.

    Errors name the layer, the parameter and the npz key, and the build function's defaults that the
    build left (an architecture built with other arguments than the weights').  NaN/Inf values
    produce a warning.
    """
    from .frontends.build_args import weights_hint

    try:
        return _bind_weights(graph, weights, path)
    except WeightsError as e:
        hint = weights_hint(graph.build)
        if not hint:
            raise
        raise WeightsError(f"{e}{hint}") from None


def _bind_weights(graph: LayerGraph, weights: dict, path: str) -> dict:
    expected = graph.param_keys or sorted({p.key for l in graph.layers for p in l.params}, key=_arr_order)
    arr_keys = sorted((k for k in weights if _ARR.match(k)), key=_arr_order)
    other = sorted(k for k in weights if not _ARR.match(k))
    if other and not arr_keys:
        raise WeightsError(
            f"{path}: expected arrays named arr_0..arr_{len(expected) - 1} (np.savez(path, *get_all_param_values(net))), "
            f"found {', '.join(other[:5])}{'...' if len(other) > 5 else ''}")
    if other:
        warnings.warn(f"{path}: ignoring {', '.join(repr(k) for k in other[:5])}{'...' if len(other) > 5 else ''}: "
                      f"the parameters are the arrays arr_0..arr_N", WeightsWarning, stacklevel=2)
    if len(arr_keys) != len(expected):
        raise WeightsError(
            f"{path}: holds {len(arr_keys)} arrays but the network has {len(expected)} parameters "
            f"(get_all_params order); was it saved from a different architecture?")
    owners = graph.param_specs()
    declared = {}
    for key in expected:  # every array's shape and dtype, from the npz headers: no data is read yet
        if key not in weights:
            raise WeightsError(f"{path}: missing array {key!r}")
        if key not in owners:
            raise WeightsError(f"{path}: the architecture lists parameter {key!r} but no layer uses it")
        declared[key] = _check_array(weights[key], key, owners[key], path)
    bound = {}
    for key in expected:
        arr = weights[key]
        if isinstance(arr, NpzMember):  # read now, at most what the architecture needs
            arr = arr.read(limit=declared[key])
            _check_array(arr, key, owners[key], path)
        layer, p = owners[key]
        with np.errstate(over="ignore"):  # float64 beyond float32's range becomes Inf: reported just below
            value = arr.astype(np.float32, copy=False)
        if not _all_finite(value):
            warnings.warn(f"{path}: array {key} ({layer.name}.{p.role}) contains NaN or Inf values"
                          + (" (or values beyond float32's range)" if arr.dtype.itemsize > 4 else ""),
                          WeightsWarning, stacklevel=2)
        bound[key] = value
    return bound


_PICKLE_BYTES_PER_VALUE = 32  # a trusted pickled array may take this much per value (plus a little)


def _check_array(arr, key, owner, path) -> int:
    """Check the (declared) shape and dtype of one parameter; returns the most bytes reading it may take."""
    layer, p = owner
    count = 1
    for d in p.shape:
        count *= int(d)
    if isinstance(arr, NpzMember) and arr.dtype.hasobject:  # a pickle: its shape is known once unpickled
        return (64 << 10) + _PICKLE_BYTES_PER_VALUE * count
    if tuple(arr.shape) != tuple(p.shape):
        raise WeightsError(
            f"{path}: array {key} has shape {tuple(arr.shape)} but {layer.describe()} expects "
            f"parameter {p.role!r} of shape {tuple(p.shape)}")
    if arr.dtype.kind not in "fiu":
        raise WeightsError(f"{path}: array {key} ({layer.name}.{p.role}) has dtype {arr.dtype}, not real numbers")
    return count * arr.dtype.itemsize


def _arr_order(key):
    m = _ARR.match(key)
    return (0, int(m.group(1))) if m else (1, key)


# The manifest travels in the zip archive's comment: np.load, and Lasagne's usual loading code
# ``[f['arr_%d' % i] for i in range(len(f.files))]``, still see exactly arr_0..arr_N.
COMMENT_MARKER = b"lasagne2onnx.manifest;zlib;"
_MAX_MANIFEST_BYTES = 64 << 20


def _comment_manifest(comment: bytes, path):
    """The manifest stored in a zip comment by :func:`embed_manifest`, or None."""
    if not comment.startswith(COMMENT_MARKER):
        return None
    inflate = zlib.decompressobj()
    try:
        text = inflate.decompress(comment[len(COMMENT_MARKER):], _MAX_MANIFEST_BYTES)
        if inflate.unconsumed_tail or not inflate.eof:
            raise ValueError("incomplete, or larger than 64 MB")
        return text.decode("utf-8")
    except (zlib.error, ValueError) as e:
        raise WeightsError(f"{path}: the manifest embedded in the archive's comment is corrupt ({e})") from None


def check_rewritable(npz_path):
    """Refuse (WeightsError) to embed a manifest into a weights file that is read-only or has other hard
    links: embedding replaces the file (a symbolic link's target), which would ignore the first and
    break the second."""
    from .io import remove_stale_stages

    how = "keep the manifest apart instead: 'capture --out ARCH.json', then '--manifest ARCH.json'"
    remove_stale_stages(os.path.dirname(os.path.realpath(npz_path)))  # a killed run's link to the file
    try:
        st = os.stat(npz_path)
    except OSError:  # reading it says why
        return
    if not os.access(npz_path, os.W_OK) or not st.st_mode & 0o222:
        raise WeightsError(f"{npz_path}: is read-only; embedding the manifest would rewrite it (make it writable, "
                           f"or {how})")
    if st.st_nlink > 1:
        raise WeightsError(f"{npz_path}: has {st.st_nlink - 1} other hard link{'s' if st.st_nlink > 2 else ''}; "
                           f"embedding the manifest rewrites the file, and the other names would keep the old one "
                           f"(copy it first, or {how})")


def embed_manifest(npz_path, graph: LayerGraph, outputs=None):
    """Rewrite ``npz_path`` with the architecture manifest stored inside it: in the zip comment (the
    arrays are copied byte for byte), or, for a manifest that does not fit there (64 KB compressed:
    thousands of layers), as an extra array, which ``len(np.load(path).files)`` then counts.

    The new file is staged in ``outputs`` (an :class:`exporter.io.StagedOutputs`) and moved into place
    with the command's other outputs; without ``outputs``, at once.  A symbolic link is followed (its
    target is rewritten); a read-only file or one with other hard links is refused.
    """
    from .io import staged_outputs

    if outputs is None:
        with staged_outputs() as outputs:
            return embed_manifest(npz_path, graph, outputs)
    check_rewritable(npz_path)
    comment = COMMENT_MARKER + zlib.compress(graph.to_json(indent=None).encode("utf-8"), 9)
    fits = len(comment) <= 0xFFFF
    with zipfile.ZipFile(npz_path) as zf:
        legacy_member = MANIFEST_KEY + ".npy" in zf.namelist()
    tmp = outputs.add(npz_path)
    if fits and not legacy_member:
        shutil.copyfile(npz_path, tmp)
    else:  # rewrite the arrays: without an earlier version's manifest array, or with this one
        weights, _ = load_npz(npz_path)
        extra = {}
        if not fits:
            warnings.warn(f"{npz_path}: the manifest is too large for the archive comment; it is stored as the "
                          f"array {MANIFEST_KEY!r}, which np.load(...).files lists", WeightsWarning, stacklevel=2)
            extra = {MANIFEST_KEY: np.frombuffer(graph.to_json().encode("utf-8"), dtype=np.uint8)}
        with open(tmp, "wb") as f:
            np.savez(f, **weights, **extra)
    if fits:
        with zipfile.ZipFile(tmp, "a") as zf:
            zf.comment = comment
