"""The SDK tests use the outside example package as a real third party would: pip-installed
into this environment, found through its entry point. CI installs it in ``.ci/run``; a developer
who has not gets it installed here once (editable, a few seconds)."""

from __future__ import annotations

import importlib
import site
import subprocess
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from connectors.sdk import installed

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sadakat-generic-store"


def _ensure_example_installed() -> None:
    try:
        distribution("sadakat-generic-store")
        return
    except PackageNotFoundError:
        pass
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(EXAMPLE)], check=True
    )
    site.addsitedir(sysconfig.get_paths()["purelib"])  # runs the new editable .pth in this process
    importlib.invalidate_caches()
    installed.cache_clear()


_ensure_example_installed()
