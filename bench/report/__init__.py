"""The HTML report of a run: ``build_report(run_dir, out_dir)`` writes ``out_dir/index.html``.

It is rebuilt from the run's files alone (results.jsonl and env.json) and never re-runs or
imports a framework. The page is one self-contained file: CSS inline, figures as inline SVG, no
script and no external resource, so it can be mailed, archived or opened offline.
"""

from bench.report.build import build_report

__all__ = ["build_report"]
