"""Where the dev stack keeps its downloads and its state.

Downloads (Kafka jars) are cached under the user's home, never in the repository, so a second
run on the same machine is fast. The dev stack's state (data dirs, logs, state file) lives in
``$G3N_HOME``, by default ``<repo>/.g3n`` (git-ignored), or ``~/.local/state/g3n`` outside a
checkout. Test stacks use a throw-away temporary directory instead.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_FILE_NAME = "state.json"


def repo_root(start: Path | None = None) -> Path | None:
    """The uv workspace root above ``start`` (default: cwd), or None outside a checkout."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and "[tool.uv.workspace]" in pyproject.read_text(encoding="utf-8"):
            return candidate
    return None


def cache_dir() -> Path:
    """``$G3N_CACHE_DIR``, else ``$XDG_CACHE_HOME/g3n``, else ``~/.cache/g3n``."""
    explicit = os.environ.get("G3N_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "g3n"


def state_home() -> Path:
    """``$G3N_HOME``, else ``<repo>/.g3n``, else ``~/.local/state/g3n``."""
    explicit = os.environ.get("G3N_HOME")
    if explicit:
        return Path(explicit).expanduser().resolve()
    root = repo_root()
    if root is not None:
        return root / ".g3n"
    return Path.home() / ".local" / "state" / "g3n"
