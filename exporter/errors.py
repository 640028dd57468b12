"""Errors the exporter raises for bad input.

Every error is a one-line, user-facing message; the CLI prints it and exits
non-zero without a traceback.  Each names the file, layer or parameter at fault.
"""


class ExportError(Exception):
    """Base class for errors caused by the user's input (not bugs)."""

    exit_code = 2


class UnsupportedLayerError(ExportError):
    def __init__(self, name, cls_name, position, detail=""):
        msg = f"unsupported layer {name!r} (class {cls_name}, position {position} in get_all_layers)"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)
        self.layer_name, self.cls_name, self.position = name, cls_name, position
        self.detail = detail


class WeightsError(ExportError):
    """The weights file is missing, unreadable, or does not fit the network."""


class NetworkError(ExportError):
    """The network definition (build function or manifest) could not be used."""
