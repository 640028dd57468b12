"""Importers: exported ONNX models -> trainable PyTorch (generated source) and Keras 3 models.

``onnx_reader`` gives both a framework-free view of the graph; the packages ``to_torch`` and
``to_keras`` hold one small module per ONNX op family (``keras_layers``: the Keras layers Keras lacks);
``torch_cli`` / ``keras_cli`` are the ``to-torch`` / ``to-keras`` subcommands.  See docs/importers.md.
"""
