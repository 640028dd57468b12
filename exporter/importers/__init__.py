"""Importers: exported ONNX models -> trainable PyTorch (generated source) and Keras 3 models.

``onnx_reader`` gives both a framework-free view of the graph; ``torch_codegen`` and ``keras_builder``
hold one small converter per ONNX op family; ``torch_cli`` / ``keras_cli`` are the ``to-torch`` /
``to-keras`` subcommands.  See docs/importers.md.
"""
