"""Toll-fraud controls: what the platform must refuse, judged from what it answered.

* A registration with a wrong password must be refused.  A registrar that
  challenges the credentials again (a 401 to a REGISTER that carried them;
  PJSIP then gives up and reports 401, and Kamailio's stock configuration
  does this) refuses them as surely as one that answers 403 Forbidden
  (RFC 3261 21.4.4: authorization will not help).  Which of the two a
  scenario expects is its own choice.
* A call the account may not place (an international prefix, an unknown
  number) must end with one of the expected final statuses and never be
  answered.

Each verdict is a pure function of the final status seen: None when the
platform conforms, else the reason in the reviewer's words.
"""

from __future__ import annotations

REGISTRATION_REFUSALS = (401, 403)


def statuses_words(statuses: tuple[int, ...], either: str = "or") -> str:
    """``403``, ``403 or 404``, ``401, 403 or 404`` (``either="或"``: ``403 或 404``)."""
    said = [str(s) for s in statuses]
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} {either} {said[-1]}"


def registration_problem(account: str, expected: tuple[int, ...], code: int, reason: str) -> str | None:
    """Why the registrar's final answer ``code reason`` to a wrong password does not conform, or None."""
    if code in expected:
        return None
    if 200 <= code < 300:
        return (f"the platform accepted account {account} with a wrong password "
                f"({code} {reason} to its REGISTER)")
    return (f"the platform refused account {account}'s wrong password with {code} {reason}, "
            f"expected {statuses_words(expected)}")


def call_refusal_problem(call: str, expected: tuple[int, ...], answered: bool, code: int,
                         reason: str) -> str | None:
    """Why a call that must be refused with one of ``expected`` does not conform, or None.

    ``answered``: the call reached CONFIRMED (the harness then hung it up at once);
    ``code reason``: its final status otherwise.
    """
    if answered:
        return (f"the platform answered {call} instead of refusing it with "
                f"{statuses_words(expected)}; the harness hung it up at once")
    if code in expected:
        return None
    return f"the platform refused {call} with {code} {reason}, expected {statuses_words(expected)}"
