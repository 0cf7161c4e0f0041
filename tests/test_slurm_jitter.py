"""Startup jitter as the deployment guide promises it: the window by runner count at every band
edge, and a delay per runner that is deterministic and spread over the window."""

from __future__ import annotations

import statistics

import pytest

from pytorc.slurm.jitter import delay_window, runner_count, startup_delay


@pytest.mark.parametrize(
    ("runners", "window"),
    [
        (0, 0.0),
        (1, 0.0),
        (2, 2.0),
        (5, 5.0),
        (10, 10.0),
        (11, 10.0 + 50 / 90),
        (55, 35.0),
        (100, 60.0),
        (101, 60.0),
        (1000, 60.0),
    ],
)
def test_the_window_at_every_band_edge(runners: int, window: float) -> None:
    assert delay_window(runners) == pytest.approx(window)


def test_the_window_never_shrinks_as_runners_are_added() -> None:
    windows = [delay_window(n) for n in range(0, 200)]
    assert windows == sorted(windows)


@pytest.mark.parametrize(
    ("allocations", "nodes", "per_node", "runners"),
    [(1, 4, False, 1), (1, 4, True, 4), (10, 4, True, 40), (10, 4, False, 10)],
)
def test_one_worker_per_node_counts_every_node_of_every_allocation(
    allocations: int, nodes: int, per_node: bool, runners: int
) -> None:
    assert runner_count(allocations, nodes, per_node) == runners


def test_a_runners_delay_is_deterministic_and_inside_the_window() -> None:
    first = startup_delay(60.0, "node1", "1234", "0", 4321)
    assert first == startup_delay(60.0, "node1", "1234", "0", 4321)
    assert 0.0 <= first < 60.0
    assert startup_delay(0.0, "node1", "1234", "0", 4321) == 0.0
    others = {
        startup_delay(60.0, *args)
        for args in [
            ("node2", "1234", "0", 4321),
            ("node1", "1235", "0", 4321),
            ("node1", "1234", "1", 4321),
            ("node1", "1234", "0", 4322),
        ]
    }
    assert first not in others and len(others) == 4  # every input moves the delay


def test_a_thousand_runners_spread_evenly_over_the_window() -> None:
    delays = [startup_delay(60.0, f"node{n}", "77", "0", 1000 + n) for n in range(1000)]
    assert 0.0 <= min(delays) < 1.0 and 59.0 < max(delays) < 60.0
    assert statistics.mean(delays) == pytest.approx(30.0, abs=2.0)
    per_ten_seconds = [sum(1 for d in delays if k * 10 <= d < (k + 1) * 10) for k in range(6)]
    assert all(120 <= count <= 215 for count in per_ten_seconds), per_ten_seconds
