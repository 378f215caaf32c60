"""Red teaming: converters that transform prompts, attacker strategies that search for failures
(PAIR, TAP, Crescendo), and the ``redline redteam`` command's planning, metrics and exports.

Everything runs on the evaluation runner (:mod:`redline.evals.runner`): the same concurrency,
retries, caches, resume and reports as ``redline eval``.
"""
