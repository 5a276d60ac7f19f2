"""``ccharness watch`` without a platform: each round's ``ccharness run`` is a stand-in
(fake_ccharness.py) acting out a plan, so the rounds, events, hooks, errors and Ctrl-C are
shown in seconds. tests/watch/test_watch_reference.py watches the real reference platform."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.evidence.runbook import RunBook
from harness.watch.hooks import Command, Event, Webhook, shown_url
from harness.watch.rounds import Settings, Watch

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]


class Receiver:
    """A local webhook: keeps every JSON body POSTed to it; answers ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        got = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                got.bodies.append(json.loads(self.rfile.read(length)))
                got.paths.append(self.path)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/s3cret-token?key=abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()
    yield got
    got.close()


def fake_python(tmp_path: Path, plan: list[str]) -> tuple[str, Path]:
    """An 'interpreter' that runs fake_ccharness.py with the watch's arguments; the plan file."""
    plan_file = tmp_path / "plan"
    plan_file.write_text("".join(p + "\n" for p in plan))
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'fake_ccharness.py'} \"$@\"\n")
    wrapper.chmod(0o755)
    os.environ["FAKE_PLAN"] = str(plan_file)
    return str(wrapper), plan_file


def watch(tmp_path: Path, plan: list[str], hooks: list[Any], **changes: Any) -> tuple[Watch, list[str]]:
    python, _ = fake_python(tmp_path, plan)
    reports = tmp_path / "reports"
    settings = Settings(profile=tmp_path / "target.yaml", target="staging", reports=reports,
                        suite=("suite/",), every=0.05, rounds=len(plan), python=python,
                        address="127.0.0.1:5160/udp", **changes)
    said: list[str] = []
    return Watch(settings, hooks, said.append), said


def test_a_verdict_change_reaches_the_webhook_and_the_command(tmp_path: Path, receiver: Receiver) -> None:
    out = tmp_path / "command-got.json"
    command = Command(f"sh -c 'cat > {out}; echo \"$CCHARNESS_EVENT\" > {out}.env'")
    w, said = watch(tmp_path, ["P", "P", "F"], [Webhook(receiver.url), command])
    assert w.forever() == 0
    text = "\n".join(said)
    assert "round 1: 1 scenario(s): 1 passed, 0 not conformant, 0 error" in text
    changed = [x for x in said if "CHANGED" in x]
    assert len(changed) == 1 and changed[0].startswith("watch: CHANGED ivr/greeting: passed -> not_conformant")
    assert "welcome not heard within 3s" in changed[0]
    (body,) = receiver.bodies  # one POST: the round with the change
    (event,) = body["events"]
    assert (body["target"], body["round"], event["event"]) == ("staging", 3, "verdict_changed")
    assert (event["from"], event["to"], event["scenario"]) == ("passed", "not_conformant", "ivr/greeting")
    assert event["run_id"] == body["run_id"] and event["previous_run_id"] != event["run_id"]
    assert json.loads(out.read_text())["events"] == body["events"]
    assert json.loads(Path(f"{out}.env").read_text())["to"] == "not_conformant"
    assert "webhook http://127.0.0.1:" in text and "ok: HTTP 204 for 1 event(s)" in text
    assert "s3cret" not in text and "key=abc" not in text  # the URL's token is not printed
    assert "command sh ok for 1 event(s)" in text
    runs = RunBook.of_reports(tmp_path / "reports").runs("staging")
    assert len(runs) == 3 and (tmp_path / "reports" / "history.html").exists()


def test_the_first_round_is_compared_with_the_runs_before_the_watch(tmp_path: Path, receiver: Receiver) -> None:
    w, said = watch(tmp_path, ["F"], [])
    w.forever()
    w, said = watch(tmp_path, ["P"], [Webhook(receiver.url)])
    w.forever()
    assert any("CHANGED ivr/greeting: not_conformant -> passed" in x for x in said)
    assert receiver.bodies[0]["events"][0]["to"] == "passed"


def test_a_round_without_verdicts_is_an_error_event_once_and_the_watch_goes_on(
        tmp_path: Path, receiver: Receiver) -> None:
    w, said = watch(tmp_path, ["crash", "crash", "P"], [Webhook(receiver.url)])
    assert w.forever() == 0
    errors = [x for x in said if "ERROR: no verdict" in x]
    assert len(errors) == 2  # one line per round; only the first is an event
    assert "exit 3: SpecError: profile.yaml:3: platform.port: not a port (see " in errors[0]
    assert [b["events"][0]["event"] for b in receiver.bodies] == ["round_error"]
    assert "round 3: 1 scenario(s): 1 passed" in "\n".join(said)
    assert (tmp_path / "reports" / "watch").is_dir()


def test_a_round_past_its_timeout_is_stopped_and_reported(tmp_path: Path) -> None:
    w, said = watch(tmp_path, ["hang"], [], round_timeout=1.0)
    started = time.monotonic()
    w.forever()
    assert time.monotonic() - started < 30
    assert any("ERROR: no verdict (still running after 1s: stopped" in x for x in said)
    assert Path(os.environ["FAKE_PLAN"] + ".signals").read_text() == "SIGINT"  # asked to tear down first


def test_a_webhook_that_fails_is_reported_and_the_watch_goes_on(tmp_path: Path) -> None:
    refusing = Receiver(status=500)
    try:
        w, said = watch(tmp_path, ["P", "E"], [Webhook(refusing.url), Webhook("http://127.0.0.1:9/x")])
        assert w.forever() == 0
    finally:
        refusing.close()
    text = "\n".join(said)
    assert "FAILED: HTTP 500 for 1 event(s)" in text
    assert "webhook http://127.0.0.1:9/... FAILED: ConnectionError" in text


def test_drift_from_the_map_is_an_event_and_so_is_its_end(tmp_path: Path, receiver: Receiver) -> None:
    ivr_map = tmp_path / "map.yaml"
    ivr_map.write_text("did: main\nmenus: {}\n")
    w, _said = watch(tmp_path, ["P", "drift", "P", "drift", "P", "same"], [Webhook(receiver.url)],
                    discover_map=ivr_map, did="main")
    w.settings = Settings(**{**w.settings.__dict__, "rounds": 3})
    assert w.forever() == 0
    kinds = [b["events"][0]["event"] for b in receiver.bodies]
    assert kinds == ["drift", "drift_gone"]  # round 2 drifts again: no new event
    assert receiver.bodies[0]["events"][0]["drift"] == [
        "DRIFT menu main: key 1 now leads to a queue sales, not the menu service"]
    argv = Path(os.environ["FAKE_PLAN"] + ".argv").read_text().splitlines()
    assert "discover" in argv[1] and "--did main" in argv[1] and f"--compare {ivr_map}" in argv[1]


def round_logs(reports: Path) -> str:
    """What the watch's round logs hold so far: '' until the watch has made its folder and a log in it."""
    return "".join(p.read_text() for p in sorted((reports / "watch").glob("*.log")))


def test_ctrl_c_stops_the_watch_cleanly_and_the_round_in_progress(tmp_path: Path) -> None:
    python, plan = fake_python(tmp_path, ["hang"])
    profile = PROJECT / "fixtures" / "targets" / "reference.yaml"
    script = (f"import sys; sys.executable = {python!r}; from harness.cli import main; "
              f"sys.exit(main(['watch', '--target', {str(profile)!r}, '--reports', {str(tmp_path / 'r')!r}, "
              f"'--every', '1s']))")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "FAKE_PLAN": str(plan)})
    assert proc.stdout is not None
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    assert lines[1].startswith("watch: round 1: ccharness run scenarios/ against reference")
    deadline = time.monotonic() + 30
    try:
        while "hanging" not in round_logs(tmp_path / "r"):  # the folder comes before its log
            assert time.monotonic() < deadline, "the round never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "stop asked: round 1 is sent Ctrl-C and has 60s to hang up and tear down" in out
    assert "stopped after 1 round(s)" in out
    assert "round 1 interrupted after" in out and "its verdicts are not compared" in out
    assert Path(f"{plan}.signals").read_text() == "SIGINT"


@pytest.mark.parametrize(("args", "message"), [
    (["--suite", "/nowhere/x.scenario.yaml"], "--suite /nowhere/x.scenario.yaml: no such file or folder"),
    (["--discover-compare", "{tmp}/nomap.yaml"], "not a readable map"),
    (["--hook-url", "ftp://host/x"], "--hook-url ftp://host/...: not an http(s) URL"),
])
def test_bad_options_are_refused_before_any_round(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  args: list[str], message: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["watch", "--reports", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "watch").exists()


def test_every_is_a_duration_up_to_a_week(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "15 minutes", "8d"):
        with pytest.raises(SystemExit):
            main(["watch", "--every", bad])
        assert "--every" in capsys.readouterr().err


def test_shown_url_hides_user_path_and_query() -> None:
    assert shown_url("https://u:pw@hooks.example:8443/T0/B1/xyz?token=1") == "https://hooks.example:8443/..."
    assert Event("drift", "x", {"map": "m"}).body() == {"event": "drift", "summary": "x", "map": "m"}


def test_a_new_drift_is_news_and_a_crawl_that_did_not_cover_the_tree_is_no_all_clear(
        tmp_path: Path, receiver: Receiver) -> None:
    ivr_map = tmp_path / "map.yaml"
    ivr_map.write_text("did: main\nmenus: {}\n")
    w, said = watch(tmp_path, ["P", "drift", "P", "drift2", "P", "partial", "P", "partial"],
                    [Webhook(receiver.url)], discover_map=ivr_map, did="main")
    w.settings = Settings(**{**w.settings.__dict__, "rounds": 4})
    assert w.forever() == 0
    events = [b["events"][0] for b in receiver.bodies]
    assert [e["event"] for e in events] == ["drift", "drift", "drift_error"]  # round 4: the same error
    assert events[1]["new"] == ["DRIFT menu main: key 9 is gone"]
    assert "the crawl did not cover the tree (not explored: 3 then 1: no answer within 10s)" in events[2]["summary"]
    assert not any("matches" in x for x in said)


def test_a_stop_during_the_pause_ends_the_watch_at_once(tmp_path: Path) -> None:
    w, said = watch(tmp_path, ["P", "P"], [])
    w.settings = Settings(**{**w.settings.__dict__, "every": 300.0})
    timer = threading.Timer(1.0, w.stop)  # as the SIGINT handler would, from outside the loop
    timer.start()
    started = time.monotonic()
    assert w.forever() == 0
    assert time.monotonic() - started < 30  # not the 300 s pause
    assert said[-1] == "watch: stopped after 1 round(s)"
    assert any(x.startswith("watch: next round at 20") for x in said)  # with its date
