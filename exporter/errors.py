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
        self.layer_name, self.cls_name, self.position, self.detail = name, cls_name, position, detail


class UnsupportedLayersError(UnsupportedLayerError):
    """Every unsupported layer of a network at once (``errors``: UnsupportedLayerErrors in network
    order).  A layer without a converter is told which classes have one (``supported``), once."""

    def __init__(self, errors, supported=""):
        first = errors[0]
        no_converter = any((e.detail or "").startswith("no converter for this class") for e in errors)
        tail = f"; supported: {supported}" if supported and no_converter else ""
        if len(errors) == 1:
            text = str(first) + tail
        else:
            text = f"{len(errors)} unsupported layers: " + "; ".join(
                f"{e.layer_name!r} (class {e.cls_name}, position {e.position}){': ' + e.detail if e.detail else ''}"
                for e in errors) + (f" (positions in get_all_layers){tail}")
        ExportError.__init__(self, text)
        self.layer_name, self.cls_name, self.position, self.detail = first.layer_name, first.cls_name, \
            first.position, first.detail
        self.errors = list(errors)


class WeightsError(ExportError):
    """The weights file is missing, unreadable, or does not fit the network."""


class NetworkError(ExportError):
    """The network definition (build function or manifest) could not be used."""


class UnsupportedNodeError(ExportError):
    """A node of an ONNX file (op or attribute value) that an importer (to-torch, to-keras) cannot map exactly."""

    def __init__(self, node, detail, target=""):
        where = f"node {node.name!r} (op {node.op_type}"
        if node.layer:
            where += f", Lasagne layer {node.layer!r}"
        where += ")"
        super().__init__(f"{target + ': ' if target else ''}{where}: {detail}")
        self.node = node
