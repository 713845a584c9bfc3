"""The fixed vs per-sample cost fit against data it did not see, on recorded sweeps: the MNIST-1D
MLP and CNN (batch 16..2048) and ResNet-20 on synthetic CIFAR-10 (batch 8..256) in torch, tf and
keras, timed by ``bench sweep`` on a shared 2-core machine (the fixture says the command). In
each framework x model pair one batch inside the line's range is left out, the line refitted on
the rest of the range and the point predicted: the measured figure must lie inside the 95 %
prediction interval for all pairs but one (8 of 9)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.measure import cost_fit
from bench.measure.sweep_analysis import holdout_check

FIXTURE = Path(__file__).parent / "data" / "recorded_sweeps.json"


def test_held_out_batches_lie_in_their_prediction_intervals() -> None:
    pairs = json.loads(FIXTURE.read_text())["pairs"]
    assert len(pairs) == 9
    results = []
    for pair in pairs:
        xs, passes = pair["batches"], pair["pass_step_seconds"]
        fit, _ = cost_fit.linear_range(xs, passes, n_boot=1000)
        check = holdout_check(xs, passes, [float(v) for v in fit.x])
        assert check is not None, f"{pair['framework']} {pair['model']}: under 4 points on the line"
        results.append((pair["framework"], pair["model"], check))
    outside = [(fw, m, c) for fw, m, c in results if not c["inside"]]
    assert len(outside) <= 1, outside
