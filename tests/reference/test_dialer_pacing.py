"""The reference's dialler paces by the free agents; with its fault it over-dials (no call)."""

from __future__ import annotations

from fixtures.reference.dialer import Dialler


def test_a_paced_dialler_holds_one_call_per_free_agent() -> None:
    dialler = Dialler()
    made = dialler.add("sales", ["13600130001", "13600130002", "13600130003"])
    free = {"sales": 1}
    first = dialler.take(lambda q: free[q])
    assert first is not None and first["number"] == "13600130001"
    assert dialler.take(lambda q: free[q]) is None  # the one free agent is spoken for
    dialler.settled(first["id"], "agent")
    free["sales"] = 0  # that agent is now on the call
    assert dialler.take(lambda q: free[q]) is None
    free["sales"] = 2
    assert [j["number"] for j in (dialler.take(lambda q: free[q]), dialler.take(lambda q: free[q])) if j] == [
        "13600130002", "13600130003"]
    assert dialler.take(lambda q: free[q]) is None  # nothing left
    assert dialler.view(made.id) == {"id": made.id, "queue": "sales", "numbers": {
        "13600130001": "agent", "13600130002": "dialling", "13600130003": "dialling"}}


def test_the_fault_over_dials_twice_the_free_agents_plus_one() -> None:
    dialler = Dialler(overdial=True)
    dialler.add("sales", [f"1360013000{i}" for i in range(6)])
    taken = [dialler.take(lambda q: 1) for _ in range(6)]
    assert sum(j is not None for j in taken) == 3
    assert dialler.view("campaign-9") is None
