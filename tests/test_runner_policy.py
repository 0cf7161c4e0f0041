"""The claim policy's rules, without processes or a server (runner/policy.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pytorc.runner.policy import (
    GIB,
    MIB,
    NO_REQUIREMENTS,
    REPORT_DELAY,
    ClaimPolicy,
    Holding,
    Needs,
    SendCheck,
    parse_requirements,
)
from pytorc.runner.resources import Resources

NODE = Resources(num_cpus=4, memory_gb=8.0, num_gpus=1)
NEEDS = {
    None: NO_REQUIREMENTS,
    1: Needs(1, 1 * GIB, 0),
    2: Needs(2, 2 * GIB, 0),
    3: Needs(1, GIB, 1),
}


def needs_of(job: dict[str, Any]) -> Needs:
    return NEEDS[job.get("resource_requirements_id")]


def jobs(n: int, rr: int | None = None) -> list[dict[str, Any]]:
    return [{"id": i, "resource_requirements_id": rr} for i in range(n)]


def by_count(slots: int = 2, **kw: Any) -> ClaimPolicy:
    return ClaimPolicy(NODE, max_parallel_jobs=slots, **kw)


def by_resources(**kw: Any) -> ClaimPolicy:
    return ClaimPolicy(NODE, **kw)


def test_requirements_parse_memory_units_and_default_missing_fields() -> None:
    assert parse_requirements({"num_cpus": 2, "memory": "2g", "num_gpus": 1}) == Needs(
        2, 2 * GIB, 1
    )
    assert parse_requirements({"memory": "512m"}) == Needs(1, 512 * MIB, 0)
    assert parse_requirements({"num_cpus": 3, "memory": "lots"}) == Needs(3, MIB, 0)
    assert parse_requirements({}) == Needs(1, MIB, 0)


def test_count_mode_starts_a_job_only_while_a_slot_is_free() -> None:
    policy = by_count(slots=2)
    assert policy.has_room(jobs(1, rr=2)[0], jobs(1), needs_of)
    assert not policy.has_room(jobs(1)[0], jobs(2), needs_of)


def test_resource_mode_starts_a_job_only_if_cpus_memory_and_gpus_all_fit() -> None:
    policy = by_resources()
    two_cpus = jobs(1, rr=2)[0]
    assert policy.has_room(two_cpus, jobs(2, rr=1), needs_of)  # 4 cpus: 2 + 2
    assert not policy.has_room(two_cpus, jobs(3, rr=1), needs_of)
    gpu_job = jobs(1, rr=3)[0]
    assert policy.has_room(gpu_job, [], needs_of)
    assert not policy.has_room(gpu_job, [gpu_job], needs_of)  # the node's one GPU is taken
    big = ClaimPolicy(Resources(num_cpus=64, memory_gb=3.0, num_gpus=0))
    assert not big.has_room(two_cpus, jobs(1, rr=2), needs_of)  # 2 + 2 GiB > 3 GiB


def test_free_resources_subtract_every_held_job_and_may_go_negative() -> None:
    free = by_resources().free(jobs(3, rr=2), needs_of)
    assert free == Needs(4 - 6, 8 * GIB - 6 * GIB, 1)


def test_count_mode_holds_one_spare_job_per_slot_until_a_job_has_ended() -> None:
    policy = by_count(slots=2)
    assert policy.spare_jobs(None) == 2
    assert policy.claim(Holding([], [], None), needs_of, now=0.0) == {"limit": 4}
    assert policy.claim(Holding(jobs(2), jobs(1), None), needs_of, now=0.0) == {"limit": 1}
    assert policy.claim(Holding(jobs(2), jobs(2), None), needs_of, now=0.0) is None


@pytest.mark.parametrize(
    ("mean_seconds", "spare"),
    [(0.001, 64), (0.01, 64), (0.1, 20), (0.5, 4), (1.0, 2), (5.0, 0)],
)
def test_count_mode_spare_jobs_are_about_a_second_of_work_per_slot(
    mean_seconds: float, spare: int
) -> None:
    assert by_count(slots=2).spare_jobs(mean_seconds) == spare  # at most 64 on 2 slots


def test_the_spare_job_cap_grows_with_the_slots_up_to_512() -> None:
    assert by_count(slots=2).most_spare == 64
    assert by_count(slots=16).most_spare == 128
    assert by_count(slots=100).most_spare == 512


def test_count_mode_is_starving_below_half_its_queue_depth() -> None:
    policy = by_count(slots=2)
    # 0.01 s jobs: 200 spare, capped at 64; starving below max(2, 64 // 2) = 32 queued.
    assert policy.is_starving(Holding(jobs(2), jobs(31), 0.01), needs_of)
    assert not policy.is_starving(Holding(jobs(2), jobs(32), 0.01), needs_of)
    # long jobs: starving only below one per slot
    assert policy.is_starving(Holding(jobs(2), jobs(1), 10.0), needs_of)
    assert not policy.is_starving(Holding(jobs(2), jobs(2), 10.0), needs_of)


def test_resource_mode_claims_only_what_fits_until_a_job_has_ended() -> None:
    policy = by_resources(scheduler_config_id=7)
    claim = policy.claim(Holding(jobs(1, rr=1), jobs(1, rr=1), None), needs_of, now=0.0)
    assert claim == {
        "limit": 2,
        "resources": {
            "num_cpus": 2,
            "memory_gb": 6.0,
            "num_gpus": 1,
            "num_nodes": 1,
            "scheduler_config_id": 7,
        },
        # the whole node: jobs must fit it, and the server names ready jobs that never could
        "capacity": {
            "num_cpus": 4,
            "memory_gb": 8.0,
            "num_gpus": 1,
            "num_nodes": 1,
            "scheduler_config_id": 7,
        },
    }
    assert policy.claim(Holding(jobs(4, rr=1), [], None), needs_of, now=0.0) is None


def test_resource_mode_offers_whole_node_fulls_beyond_the_node_for_short_jobs() -> None:
    policy = by_resources()
    assert policy.spare_node_fulls(None) == 0
    assert policy.spare_node_fulls(0.25) == 4
    assert policy.spare_node_fulls(0.0001) == 64 // 4  # at most most_spare CPUs' worth
    claim = policy.claim(Holding(jobs(4, rr=1), [], 0.25), needs_of, now=0.0)
    assert claim is not None
    assert claim["limit"] == 0 + 4 * 4
    assert claim["resources"]["memory_gb"] == pytest.approx(4.0 + 8.0 * 4)
    # the server hands out only jobs that fit the node itself
    assert claim["capacity"]["num_cpus"] == 4 and claim["capacity"]["memory_gb"] == 8.0


def test_resource_mode_claims_nothing_with_almost_no_memory_free() -> None:
    policy = ClaimPolicy(Resources(num_cpus=4, memory_gb=1.05, num_gpus=0))
    assert policy.claim(Holding(jobs(1, rr=1), [], None), needs_of, now=0.0) is None


def test_resource_mode_is_starving_when_queued_cpus_fall_below_half_the_depth() -> None:
    policy = by_resources()
    assert policy.is_starving(Holding([], [], None), needs_of)
    assert not policy.is_starving(Holding([], jobs(1), None), needs_of)  # no depth yet
    # 0.25 s jobs: 4 node-fulls of 4 CPUs; starving below 8 queued CPUs
    assert policy.is_starving(Holding([], jobs(7, rr=1), 0.25), needs_of)
    assert not policy.is_starving(Holding([], jobs(4, rr=2), 0.25), needs_of)


def test_nothing_is_claimed_within_a_minute_of_the_end_time() -> None:
    end = 10_000.0
    for policy in (by_count(end_time=end), by_resources(end_time=end)):
        assert policy.claim(Holding([], [], None), needs_of, now=end - 61) is not None
        assert policy.claim(Holding([], [], None), needs_of, now=end - 60) is None


def test_an_end_time_offers_the_whole_minutes_left_as_time_limit() -> None:
    policy = by_resources(end_time=10_000.0)
    assert policy.offer(1, 1.0, 0, now=10_000.0 - 185)["time_limit"] == "PT3M"
    assert policy.offer(1, 1.0, 0, now=10_000.0 - 30)["time_limit"] == "PT1M"
    assert "time_limit" not in by_resources().offer(1, 1.0, 0, now=0.0)


def check(**kw: Any) -> SendCheck:
    fields: dict[str, Any] = dict(
        closing=False, running=True, since_contact=0.0, starving=False, oldest_result_age=None
    )
    return SendCheck(**{**fields, **kw})


def test_the_reporter_sends_when_stopping_starving_or_due_and_otherwise_gathers() -> None:
    policy = by_count(heartbeat=1.0, poll_interval=5.0)
    assert not policy.should_send(check())
    assert policy.should_send(check(closing=True))
    assert policy.should_send(check(starving=True))
    assert policy.should_send(check(since_contact=1.0))  # heartbeat while jobs run
    assert not policy.should_send(check(running=False, since_contact=1.0))
    assert policy.should_send(check(running=False, since_contact=5.0))  # poll while idle


def test_a_finished_jobs_result_waits_at_most_the_report_delay_for_company() -> None:
    policy = by_count()
    assert not policy.should_send(check(oldest_result_age=REPORT_DELAY / 2))
    assert policy.should_send(check(oldest_result_age=REPORT_DELAY))
