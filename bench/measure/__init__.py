"""How a figure is taken and summarised: timing windows and passes, memory peaks, the machine's
calibrated peaks, the drift reference, the environment fingerprint, the perplexity figures of the
sequence models, and the interval statistics every summary uses.

Imports :mod:`bench.catalog`, :mod:`bench.zoo` and :mod:`bench.data` only; the runner builds on it.
"""
