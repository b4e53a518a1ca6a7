"""GroupCommit on its own: batches, outcomes, failures and the after-batch hook, with real threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from shopify_app.group_commit import GroupCommit
from tests.waiting import wait_for

THREADS = 16


class Failed(Exception):
    pass


def submit_all(group: GroupCommit[int, int], items: list[int]) -> list[int | BaseException]:
    def submit(item: int) -> int | BaseException:
        try:
            return group.submit(item)
        except Exception as exc:  # noqa: BLE001
            return exc

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(submit, items))


def held_writer(batches: list[list[int]], release: threading.Event, outcome=lambda item: item * 10):  # type: ignore[no-untyped-def]
    """Writes batches; the first one waits for ``release``, so the others queue up behind it."""

    def write(batch: list[int]) -> list[int | Exception]:
        batches.append(list(batch))
        if len(batches) == 1:
            release.wait(timeout=30)
        return [outcome(item) for item in batch]

    return write


def test_items_that_wait_behind_a_batch_are_written_together_and_each_gets_its_own_result():
    batches: list[list[int]] = []
    release = threading.Event()
    group: GroupCommit[int, int] = GroupCommit(held_writer(batches, release), Failed, max_batch=100, name="test")
    with ThreadPoolExecutor(max_workers=1) as lone:
        first = lone.submit(group.submit, 0)
        wait_for(lambda: len(batches) == 1, timeout=10, interval=0.01)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(group.submit, item) for item in range(1, THREADS + 1)]
            wait_for(lambda: group.waiting() == THREADS, timeout=10, interval=0.01)
            release.set()
            results = [f.result(timeout=10) for f in futures]
        assert first.result(timeout=10) == 0
    assert results == [item * 10 for item in range(1, THREADS + 1)]
    assert batches[0] == [0] and sorted(batches[1]) == list(range(1, THREADS + 1)) and len(batches) == 2
    assert group.waiting() == 0


def test_max_batch_splits_the_queue_and_nothing_is_written_twice():
    batches: list[list[int]] = []
    release = threading.Event()
    group: GroupCommit[int, int] = GroupCommit(held_writer(batches, release), Failed, max_batch=5, name="test")
    with ThreadPoolExecutor(max_workers=1) as lone:
        lone.submit(group.submit, 0)
        wait_for(lambda: len(batches) == 1, timeout=10, interval=0.01)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(group.submit, item) for item in range(1, THREADS + 1)]
            wait_for(lambda: group.waiting() == THREADS, timeout=10, interval=0.01)
            release.set()
            assert sorted(f.result(timeout=10) for f in futures) == [i * 10 for i in range(1, THREADS + 1)]
    assert all(len(batch) <= 5 for batch in batches)
    assert sorted(item for batch in batches for item in batch) == list(range(THREADS + 1))


def test_an_exception_as_outcome_is_raised_by_its_own_request_only():
    group: GroupCommit[int, int] = GroupCommit(
        lambda batch: [Failed(str(i)) if i % 2 else i for i in batch], Failed, max_batch=100, name="test")
    results = submit_all(group, list(range(THREADS)))
    for item, result in zip(range(THREADS), results, strict=True):
        assert isinstance(result, Failed) if item % 2 else result == item


def test_a_failing_batch_fails_every_request_waiting_on_it_and_the_next_batch_works():
    calls: list[list[int]] = []

    def write(batch: list[int]) -> list[int]:
        calls.append(batch)
        if len(calls) <= 2:
            raise RuntimeError("the transaction failed")
        return batch

    group: GroupCommit[int, int] = GroupCommit(write, lambda: Failed("try again"), max_batch=100, name="test")
    results = submit_all(group, list(range(THREADS)))
    failed = [r for r in results if isinstance(r, Failed)]
    assert failed and all(isinstance(r, (Failed, int)) for r in results)
    assert sum(len(batch) for batch in calls[:2]) == len(failed)  # exactly the items of the failed batches
    assert group.waiting() == 0
    assert group.submit(99) == 99


def test_after_batch_runs_with_the_results_and_its_errors_do_not_reach_the_requests():
    seen: list[int] = []

    def after(results: list[int]) -> None:
        seen.extend(results)
        raise RuntimeError("Redis is down")

    group: GroupCommit[int, int] = GroupCommit(lambda batch: batch, Failed, max_batch=100, name="test",
                                               after_batch=after)
    assert submit_all(group, list(range(THREADS))) == list(range(THREADS))
    assert sorted(seen) == list(range(THREADS))


@pytest.mark.parametrize("rounds", [3])
def test_the_lead_is_always_handed_on(rounds: int):
    """Many rounds of bursts: every submit returns (a lost hand-over would leave threads waiting for ever)."""
    group: GroupCommit[int, int] = GroupCommit(lambda batch: batch, Failed, max_batch=3, name="test")
    for _ in range(rounds):
        assert sorted(submit_all(group, list(range(64)))) == list(range(64))
    assert group.waiting() == 0


def test_a_leader_with_requests_in_flight_beside_it_waits_for_them_to_join_its_batch():
    batches: list[list[int]] = []
    group: GroupCommit[int, int] = GroupCommit(lambda batch: batches.append(list(batch)) or batch, Failed,
                                               max_batch=100, name="test", gather_seconds=2.0)
    with group.in_flight(), ThreadPoolExecutor(max_workers=1) as leader:  # this request is still being parsed
        first = leader.submit(lambda: _submit_in_flight(group, 1))
        wait_for(lambda: group.waiting() == 1, timeout=10, interval=0.01)  # the leader gathers
        assert group.submit(2) == 2  # joins the leader's batch
        assert first.result(timeout=10) == 1
    assert batches == [[1, 2]]


def test_a_lone_request_is_written_at_once_whatever_the_gather_time():
    batches: list[list[int]] = []
    group: GroupCommit[int, int] = GroupCommit(lambda batch: batches.append(list(batch)) or batch, Failed,
                                               max_batch=100, name="test", gather_seconds=60.0)
    with ThreadPoolExecutor(max_workers=1) as lone:
        # A minute's gather would outlast the timeout; alone in flight, the request does not gather.
        assert lone.submit(lambda: _submit_in_flight(group, 1)).result(timeout=20) == 1
    assert batches == [[1]]


def _submit_in_flight(group: GroupCommit[int, int], item: int) -> int:
    with group.in_flight():
        return group.submit(item)
