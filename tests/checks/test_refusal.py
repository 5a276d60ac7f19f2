"""The toll-fraud verdicts: a refusal with the expected status passes, anything else says why."""

from __future__ import annotations

from harness.checks.refusal import call_refusal_problem, registration_problem, statuses_words


def test_statuses_are_said_as_a_reviewer_reads_them() -> None:
    assert [statuses_words(s) for s in ((403,), (403, 404), (401, 403, 404))] == [
        "403", "403 or 404", "401, 403 or 404"]


def test_a_wrong_password_must_be_refused_with_an_expected_status() -> None:
    assert registration_problem("agent1", (401, 403), 401, "Unauthorized") is None
    assert registration_problem("agent1", (403,), 403, "Forbidden") is None
    assert registration_problem("agent1", (403,), 200, "OK") == (
        "the platform accepted account agent1 with a wrong password (200 OK to its REGISTER)")
    assert registration_problem("agent1", (403,), 401, "Unauthorized") == (
        "the platform refused account agent1's wrong password with 401 Unauthorized, expected 403")


def test_a_barred_call_must_be_refused_and_never_answered() -> None:
    assert call_refusal_problem("call r1", (403, 404), False, 404, "Not Found") is None
    assert call_refusal_problem("call r1", (403,), True, 200, "OK") == (
        "the platform answered call r1 instead of refusing it with 403; the harness hung it up at once")
    assert call_refusal_problem("call r1", (403, 404), False, 480, "Temporarily Unavailable") == (
        "the platform refused call r1 with 480 Temporarily Unavailable, expected 403 or 404")
