"""Where the project's own files are: the checkout the harness runs from.

``setup.sh`` installs the harness editable, so this is the checkout's root, which
holds ``scenarios/``, ``fixtures/``, ``reports/``, ``var/`` and ``.allure/``.  At the
bottom of the import graph: every layer may ask it, it asks nobody.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
