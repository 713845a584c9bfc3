"""What is compared, as the harness sees it: each model's canonical weight layout, initial weights
and FLOPs (derived from its declaration in :mod:`bench.zoo`), the suites (which model on which data
with which targets), the frameworks and their variants, and the learning-rate tables.

Above :mod:`bench.zoo` and :mod:`bench.data`, below everything that runs, measures or reports.
"""
