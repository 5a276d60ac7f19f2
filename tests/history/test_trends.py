"""``ccharness history``: flapping and changed scenarios, trends, the printed lines and the page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from harness.cli import main
from harness.evidence.runbook import RunBook
from harness.history.cli import histories
from harness.history.page import page
from harness.history.trends import History, lines, sparkline
from tests.history.runs import GREETING, QUEUE, T0, scenario, series, write_run


def _history(reports: Path, verdicts: str, scores: list[float] | None = None) -> History:
    series(reports, verdicts, scores)
    book = RunBook.of_reports(reports)
    book.file_new(reports)
    (found,) = histories(book, "staging", 20)
    return found


@pytest.mark.parametrize(("verdicts", "changes", "flapping"), [
    ("PPPP", 0, False), ("PPPF", 1, False), ("PFPP", 2, True), ("PF-P", 2, True), ("PEPE", 3, True),
    ("FFPP", 1, False), ("P--F", 1, False)])
def test_a_scenario_flaps_when_its_verdict_changed_twice(tmp_path: Path, verdicts: str, changes: int,
                                                         flapping: bool) -> None:
    found = _history(tmp_path, verdicts)
    greeting = next(s for s in found.scenarios if s.file == GREETING)
    assert greeting.strip() == verdicts
    assert (greeting.changes, greeting.flapping) == (changes, flapping)
    assert (greeting in found.flapping) == flapping
    assert found.scenarios[0].file == GREETING if flapping or verdicts.endswith("F") else True


def test_the_last_figure_beyond_every_earlier_one_is_called_worse(tmp_path: Path) -> None:
    found = _history(tmp_path, "PPPP", scores=[0.97, 0.95, 0.98, 0.62])
    greeting = next(s for s in found.scenarios if s.file == GREETING)
    score = next(t for t in greeting.trends if t.label == "prompt score welcome")
    assert score.values == (0.97, 0.95, 0.98, 0.62) and score.worse_than_usual()
    setup = next(t for t in greeting.trends if t.label.startswith("set-up"))
    assert not setup.worse_than_usual()  # the same each run
    assert next(s for s in found.scenarios if s.file == QUEUE).durations == (20.0,) * 4


def test_sparkline_scales_between_the_series_extremes_and_leaves_gaps() -> None:
    assert sparkline([1.0, None, 2.0, 1.5]) == "▁ █▄"
    assert sparkline([0.5, 0.5]) == "▄▄"
    assert sparkline([None]) == " "


def test_history_prints_each_scenario_and_calls_out_flapping_and_writes_one_offline_page(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    series(tmp_path, "PFPE", scores=[0.97, 0.40, 0.96, 0.95])
    assert main(["history", "--reports", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "target staging at 127.0.0.1:5160/udp: 4 run(s)" in out
    assert "FLAPPING: 1 scenario(s) changed verdict 2+ times: ivr/greeting" in out
    assert re.search(r"ivr/greeting +PFPE +last error .*FLAPPING \(3 changes\)", out)
    assert re.search(r"prompt score welcome +█▁▇▇ +last 0.950, range 0.400 \.\. 0.970", out)
    assert "last failure 20261201T110000Z: expect_prompt (line 9): welcome not heard within 3s" in out
    html = (tmp_path / "history.html").read_text(encoding="utf-8")
    assert f"history page: {(tmp_path / 'history.html').resolve()}" in out
    assert "<svg" in html and "ivr/greeting" in html and "flapping (3 changes)" in html
    assert "20261201T090000Z: NOT CONFORMANT — expect_prompt (line 9)" in html  # a square's tooltip
    # one file that opens offline: no script, stylesheet or image is fetched
    assert not re.search(r"(src|href)=|<script|@import|url\(", html)


def test_history_of_one_target_last_runs_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    series(tmp_path, "FFPP")
    assert main(["history", "--reports", str(tmp_path), "--last", "2", "--target", "staging",
                 "--html", str(tmp_path / "h" / "page.html")]) == 0
    out = capsys.readouterr().out
    assert "target staging at 127.0.0.1:5160/udp: 2 run(s)" in out and re.search(r"ivr/greeting +PP +last passed", out)
    assert (tmp_path / "h" / "page.html").exists()


def test_history_without_runs_or_folder_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--reports", str(tmp_path)]) == 1
    assert f"no runs in {tmp_path}/ledger.sqlite" in capsys.readouterr().err
    assert main(["history", "--reports", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err
    series(tmp_path, "P")
    assert main(["history", "--reports", str(tmp_path), "--target", "prod"]) == 1
    assert "no runs of target prod" in capsys.readouterr().err


def test_the_page_of_no_scenario_run_twice_is_still_whole() -> None:
    html = page([])
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_a_stopped_run_s_error_is_shown_apart_and_a_scenario_no_longer_run_goes_last(tmp_path: Path) -> None:
    series(tmp_path, "PP")
    later = T0 + timedelta(hours=5)
    stopped = scenario(GREETING, "error", later)
    stopped["message"] = "KeyboardInterrupt()"
    write_run(tmp_path, "x-stopped", later, [stopped], exit_status=2)
    write_run(tmp_path, "y-latest", later + timedelta(hours=1), [scenario(GREETING, "passed", later)])
    book = RunBook.of_reports(tmp_path)
    book.file_new(tmp_path)
    (found,) = histories(book, None, 20)
    greeting, queue = found.scenarios
    assert (greeting.file, greeting.strip(), greeting.changes, greeting.last) == (GREETING, "PPiP", 0, "passed")
    assert (queue.file, queue.strip(), queue.gone) == (QUEUE, "PP--", True)
    assert "not in the latest run" in "\n".join(lines(found))
    assert "INTERRUPTED" in "\n".join(lines(found))


def test_a_prompt_measured_twice_is_two_trends_however_the_steps_move(tmp_path: Path) -> None:
    records = []
    for i, extra in enumerate((0, 3)):  # the second run has three more steps before the prompts
        start = T0 + timedelta(hours=i)
        record = scenario(GREETING, "passed", start, score=0.9 + i / 100)
        prompt = record["steps"][2]
        record["steps"] = record["steps"][:2] + [
            {**prompt, "index": 2 + extra}, {**prompt, "index": 5 + extra,
                                             "measurements": {"score": 0.5 + i / 100}}]
        records.append(write_run(tmp_path, f"r{i}", start, [record]))
    book = RunBook.of_reports(tmp_path)
    book.file_new(tmp_path)
    (found,) = histories(book, None, 20)
    trends = {t.label: t.values for t in found.scenarios[0].trends}
    assert trends["prompt score welcome (#1)"] == (0.9, 0.91)
    assert trends["prompt score welcome (#2)"] == (0.5, 0.51)
