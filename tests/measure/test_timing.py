"""Which steps count: the record's passes of rounds, warm-up dropped, as every reader sees them."""

from __future__ import annotations

import numpy as np

from bench.measure import drift_reference, summaries, timing

TIMES = list(np.arange(1.0, 11.0))


def test_rounds_split_and_drop_warmup() -> None:
    every = timing.split_rounds(TIMES, [4, 3, 3], 5)  # sizes cover the warm-up too
    assert every is not None
    assert [r.tolist() for r in every] == [[6.0, 7.0], [8.0, 9.0, 10.0]]
    timed = timing.split_rounds(TIMES, [2, 3], 5)  # sizes cover the timed steps only
    assert timed is not None
    assert [r.tolist() for r in timed] == [[6.0, 7.0], [8.0, 9.0, 10.0]]
    one = timing.split_rounds(TIMES, None, 2)
    assert one is not None and [r.size for r in one] == [8]


def test_unusable_times_give_none() -> None:
    assert timing.split_rounds(TIMES, [4, 4], 1) is None  # sizes do not add up: truncated
    assert timing.split_rounds([], [], 0) is None
    assert timing.split_rounds([1.0, float("nan")], None, 0) is None
    assert timing.split_rounds([1.0, -1.0], None, 0) is None
    assert timing.split_rounds("nonsense", None, 0) is None
    assert timing.split_rounds(TIMES, [4, "x"], 0) is None


def test_timing_passes_are_preferred_over_the_training_pass() -> None:
    record = {
        "step_times_s": TIMES,
        "round_sizes": [5, 5],
        "warmup_steps": 2,
        "timing_passes": [
            {"step_times_s": [9.0, 1.0, 1.0, 2.0, 2.0], "round_sizes": [3, 2], "warmup_steps": 1},
            {"step_times_s": [9.0, 3.0], "round_sizes": [5], "warmup_steps": 1},  # truncated
            {"step_times_s": [9.0, 4.0, 4.0], "round_sizes": [3], "warmup_steps": 1},
        ],
    }
    passes = timing.passes(record)
    assert passes is not None
    assert [[r.tolist() for r in p] for p in passes] == [[[1.0, 1.0], [2.0, 2.0]], [[4.0, 4.0]]]
    training = timing.passes({k: v for k, v in record.items() if k != "timing_passes"})
    assert training is not None and len(training) == 1
    assert [r.tolist() for r in training[0]] == [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]]
    assert timing.passes({"step_times_s": []}) is None


def test_windows_stand_as_steps_of_their_mean_time() -> None:
    rounds = timing.window_rounds([0.2, 0.9], [2, 3])
    assert rounds is not None
    assert [r.tolist() for r in rounds] == [[0.1, 0.1], [0.3, 0.3, 0.3]]
    assert timing.window_rounds([0.2], [2, 3]) is None  # lengths differ
    assert timing.window_rounds([0.2, 0.0], [2, 3]) is None  # a window of no time
    assert timing.window_rounds([0.2], [0]) is None  # a window of no steps
    assert timing.window_rounds([0.2], [1.5]) is None
    assert timing.window_rounds([], []) is None


def test_windows_feed_throughput_and_synced_steps_feed_latency() -> None:
    window_pass = {
        "window_seconds": [0.5, 0.5],
        "window_steps": [5, 5],
        "step_times_s": [7.0, 8.0],
        "round_sizes": [2],
        "warmup_steps": 0,
        "cold": {"steps": 2, "seconds": 4.0, "idle_before_s": 0.3},
    }
    old_pass = {"step_times_s": [9.0, 2.0, 2.0], "round_sizes": [3], "warmup_steps": 1}
    record = {"timing_passes": [window_pass, old_pass], "step_times_s": [5.0, 5.0]}
    passes = timing.passes(record)
    assert passes is not None
    assert [np.concatenate(p).tolist() for p in passes] == [[0.1] * 10, [2.0, 2.0]]
    synced = timing.latency_steps(record)
    assert synced is not None and synced.tolist() == [7.0, 8.0, 2.0, 2.0]
    assert timing.latency_steps({"step_times_s": [5.0, 6.0]}).tolist() == [5.0, 6.0]


def test_after_idle_is_the_cold_windows_against_the_hot_ones() -> None:
    passes = [
        {"window_seconds": [1.0], "window_steps": [10], "cold": {"steps": 2, "seconds": 0.4}},
        {"window_seconds": [1.0], "window_steps": [10],
         "cold": {"steps": 2, "seconds": 0.8, "idle_before_s": 0.5}},
    ]  # fmt: skip
    cold = timing.after_idle({"timing_passes": passes}, batch_size=100)
    assert cold is not None
    assert cold["pass_values"] == [500.0, 250.0]
    assert cold["median"] == 375.0
    assert cold["relative_to_windows"] == 0.375  # hot windows: 1000 samples/s
    assert cold["idle_before_s"] == [0.0, 0.5]
    assert timing.after_idle({"timing_passes": [{"window_seconds": [1.0]}]}, 100) is None


def test_one_disturbed_window_does_not_move_the_pass_figure() -> None:
    # three windows of 0.1 s/step and one of 1 s/step (a neighbour's burst): the step-weighted
    # median stays at the undisturbed windows' figure, a pooled mean would not
    rounds = timing.window_rounds([1.0, 1.0, 10.0, 1.0], [10, 10, 10, 10])
    assert rounds is not None
    assert summaries.pass_medians([rounds]).tolist() == [0.1]


def test_drift_reference_is_a_positive_time_of_a_named_workload() -> None:
    assert drift_reference.measure(samples=1) > 0
    assert "matmul" in drift_reference.WORKLOAD and "one BLAS thread" in drift_reference.WORKLOAD
