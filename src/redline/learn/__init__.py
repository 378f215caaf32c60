"""The learning loop — stage 5: from runs to decisions and to data.

A run on its own says how one model did. This package turns runs into what a safety team acts
on: :mod:`redline.learn.runs` loads finished runs (streaming their results),
:mod:`redline.learn.compare` compares two or more runs sample by sample (is the new model
better or worse, in which categories, beyond chance?), and the rest of the loop builds on them:
release gates against budgets, clusters of failures and the data requests that would fix them
(:mod:`redline.learn.requests`). All statistics come from :mod:`redline.stats`.
"""
