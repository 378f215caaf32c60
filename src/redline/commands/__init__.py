"""Sub-command groups of the ``redline`` command, one module per area.

Each module exposes ``register(app)``; :mod:`redline.cli` calls it. Modules import only
``typer`` at the top: heavy libraries are imported inside the command functions so that
``redline eval`` starts fast.
"""
