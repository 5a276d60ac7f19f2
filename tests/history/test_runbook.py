"""The run book: what it files of a run folder, filing twice, runs killed mid-way, the latest verdicts."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.evidence.ledger import Ledger
from harness.evidence.records import read_evidence
from harness.evidence.runbook import LEDGER, RunBook, from_evidence
from harness.project import PROJECT_ROOT
from tests.history.runs import GREETING, QUEUE, T0, scenario, series, write_run


def test_a_run_folder_is_filed_with_its_verdicts_durations_and_numeric_figures(tmp_path: Path) -> None:
    folder = write_run(tmp_path, "r1", T0, [scenario(GREETING, "not_conformant", T0, 12.5, score=0.41)])
    filed = from_evidence(folder, read_evidence(folder))
    assert filed.run.target == "staging" and filed.run.address == "127.0.0.1:5160/udp"
    assert filed.run.complete and filed.run.exit_status == 1 and filed.run.duration_s == 60.0
    (result,) = filed.results
    assert (result.verdict, result.duration_s) == ("not_conformant", 12.5)
    assert result.message.endswith("welcome not heard within 3s")
    figures = {(f.kind, f.subject, f.name): f.value for f in filed.figures}
    # numbers only: the boolean "heard" is not a figure
    assert figures == {("expect_answer", "c1", "answered_after_s"): 0.05,
                       ("expect_prompt", "welcome", "score"): 0.41, ("expect_prompt", "welcome", "start_s"): 0.4}


def test_filing_a_run_twice_keeps_one_copy(tmp_path: Path) -> None:
    ids = series(tmp_path, "PF")
    book = RunBook.of_reports(tmp_path)
    assert book.file_new(tmp_path) == ids
    book.file_folder(tmp_path / ids[0])
    assert book.file_new(tmp_path) == []
    assert [r.run_id for r in book.runs()] == ids
    assert len(book.results(ids)) == 4 and len(book.figures(ids)) == 12


def test_a_run_killed_midway_is_filed_incomplete_and_again_once_it_has_ended(tmp_path: Path) -> None:
    folder = write_run(tmp_path, "r1", T0, [scenario(GREETING, "passed", T0)], ended=False)
    book = RunBook.of_reports(tmp_path)
    assert book.file_new(tmp_path) == ["r1"]
    (run,) = book.runs()
    assert not run.complete and run.exit_status is None
    assert not book.complete("r1") and not book.complete("never-filed")
    assert book.file_new(tmp_path) == []  # not ended since: not read again
    (folder / "evidence.jsonl").unlink()
    write_run(tmp_path / "again", "r1", T0, [scenario(GREETING, "passed", T0)])
    (tmp_path / "again" / "r1" / "evidence.jsonl").rename(folder / "evidence.jsonl")
    assert book.file_new(tmp_path) == ["r1"]
    assert book.file_new(tmp_path) == []
    assert book.runs()[0].complete and book.complete("r1")


def test_a_folder_without_a_run_record_is_not_filed_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "r0").mkdir()
    (tmp_path / "r0" / "evidence.jsonl").write_text("", encoding="utf-8")
    book = RunBook.of_reports(tmp_path)
    with pytest.raises(HarnessError, match="no run record"):
        book.file_folder(tmp_path / "r0")
    assert book.file_new(tmp_path) == []


def test_the_latest_verdicts_are_per_scenario_and_target_in_run_order(tmp_path: Path) -> None:
    ids = series(tmp_path, "PF-")
    write_run(tmp_path, "other", T0 + timedelta(days=1), [scenario(GREETING, "error", T0)], target="prod")
    book = RunBook.of_reports(tmp_path)
    book.file_new(tmp_path)
    here = "127.0.0.1:5160/udp"
    assert book.last_verdicts("staging", here) == {GREETING: ("not_conformant", ids[1]), QUEUE: ("passed", ids[2])}
    assert book.last_verdicts("prod", here) == {GREETING: ("error", "other")}
    assert book.last_verdicts("staging", "10.0.0.1:5060/udp") == {}  # another platform of that name
    assert book.targets() == [("staging", here), ("prod", here)]


def test_the_run_book_shares_the_ledger_file_with_the_canaries(tmp_path: Path) -> None:
    Ledger(tmp_path / LEDGER)
    series(tmp_path, "P")
    RunBook.of_reports(tmp_path).file_new(tmp_path)
    with sqlite3.connect(tmp_path / LEDGER) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"canaries", "checks", "clock_proofs", "runs", "results", "figures"} <= tables


def test_a_run_stopped_by_ctrl_c_or_run_with_a_reference_fault_is_no_baseline(tmp_path: Path) -> None:
    (ok,) = series(tmp_path, "P")
    later = T0 + timedelta(hours=5)
    stopped = scenario(GREETING, "error", later)
    stopped["message"] = "KeyboardInterrupt()"
    write_run(tmp_path, "stopped", later, [stopped], exit_status=2)
    write_run(tmp_path, "faulty", later + timedelta(hours=1), [scenario(GREETING, "not_conformant", later)],
              faults=("ivr_ignores_dtmf",))
    book = RunBook.of_reports(tmp_path)
    book.file_new(tmp_path)
    assert book.last_verdicts("staging", "127.0.0.1:5160/udp")[GREETING] == ("passed", ok)
    assert [r.run_id for r in book.runs()] == [ok, "stopped"]  # fault runs only when asked
    assert [r.run_id for r in book.runs(faults=True)] == [ok, "stopped", "faulty"]
    assert book.runs()[-1].interrupted and not book.runs()[0].interrupted


def test_a_killed_run_files_the_scenario_it_was_in_as_an_error(tmp_path: Path) -> None:
    folder = write_run(tmp_path, "killed", T0, [scenario(GREETING, "passed", T0)], ended=False)
    with open(folder / "evidence.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps({"type": "scenario_started", "file": QUEUE, "name": "queue",
                              "started_utc": T0.isoformat(), "at_s": 12.0}) + "\n")
    filed = from_evidence(folder, read_evidence(folder))
    assert {r.file: (r.verdict, r.message) for r in filed.results} == {
        GREETING: ("passed", ""), QUEUE: ("error", "the run ended during this scenario (killed, or stopped)")}


def test_a_last_line_torn_inside_a_character_is_skipped_and_one_earlier_is_an_error(tmp_path: Path) -> None:
    folder = write_run(tmp_path, "r1", T0, [scenario(GREETING, "passed", T0)])
    whole = (folder / "evidence.jsonl").read_bytes()
    torn = json.dumps({"type": "scenario", "name": "问候语"}, ensure_ascii=False).encode()[:-4]
    (folder / "evidence.jsonl").write_bytes(whole + torn)
    assert len(read_evidence(folder)) == 3  # the torn record is left out
    (folder / "evidence.jsonl").write_bytes(torn + b"\n" + whole)
    with pytest.raises(HarnessError, match=r"evidence.jsonl:1: not a JSON record \(not UTF-8\)"):
        read_evidence(folder)


def test_two_runs_in_one_folder_are_not_filed(tmp_path: Path) -> None:
    folder = write_run(tmp_path, "nightly", T0, [scenario(GREETING, "passed", T0)])
    again = (folder / "evidence.jsonl").read_text(encoding="utf-8")
    (folder / "evidence.jsonl").write_text(again + again, encoding="utf-8")
    with pytest.raises(HarnessError, match="2 run records: more than one run wrote into this folder"):
        RunBook.of_reports(tmp_path).file_folder(folder)


def test_only_finite_numbers_are_figures_and_a_project_scenario_is_known_by_its_path_inside(
        tmp_path: Path) -> None:
    inside = str(PROJECT_ROOT / "scenarios" / "ivr" / "greeting_and_menu.scenario.yaml")
    record = scenario(inside, "passed", T0, score=float("nan"))
    record["steps"][1]["measurements"]["answered_after_s"] = float("inf")
    folder = write_run(tmp_path, "r1", T0, [record])
    filed = from_evidence(folder, read_evidence(folder))
    assert filed.results[0].file == "scenarios/ivr/greeting_and_menu.scenario.yaml"
    assert {(f.kind, f.name) for f in filed.figures} == {("expect_prompt", "start_s")}
