"""Keeping results over time and judging changes: the history database and its series, the
filters, the history page, ``bench compare`` and its verdicts, and the pytest-benchmark import.

The top library layer: may import the report (the history page reuses its figures) and
everything below it.
"""
