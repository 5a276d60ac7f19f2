"""Where the committed loopback prompts are, for tests and fixtures alike."""

from __future__ import annotations

from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "prompts" / "loopback"
PROMPT_NAMES = ("greeting", "digit_one", "digit_two", "agent_hello")
