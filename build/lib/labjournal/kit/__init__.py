"""The helpers experiment notebooks import: set-up, data, models, training, recording.

Everything in this folder is part of every run's cache key: editing it re-runs the notebooks.
"""
