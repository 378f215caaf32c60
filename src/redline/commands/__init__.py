"""The ``redline`` commands, one module per area: ``evals`` (eval, runs, suites, policies),
``judging``, ``calibration``, ``policy``, ``data`` (and sql), ``annotate``.

Each module exposes ``register(app)``; :mod:`redline.cli` calls it. Commands stay thin: they parse
options, call the library and print. They raise :class:`~redline.errors.RedlineError` rather than
catch it: :class:`~redline.commands._common.CommandGroup` is the one place that prints it and exits
with its code. Options used by several commands are defined once in :mod:`redline.commands._common`.
Modules import only ``typer`` at the top: heavy libraries are imported inside the command functions
so that ``redline eval`` starts fast.
"""
