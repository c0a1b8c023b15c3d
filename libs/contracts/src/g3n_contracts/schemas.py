"""``python -m g3n_contracts.schemas DIR [--check]``: regenerate (or verify) the JSON Schemas.

Kept apart from :mod:`g3n_contracts.json_schema` so the package never imports its own
``__main__`` module (``python -m`` would warn and run a second copy).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from g3n_contracts.json_schema import export_json_schemas, stale_json_schemas

__all__ = ["export_json_schemas", "main", "stale_json_schemas"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m g3n_contracts.schemas DIR [--check]``: write (or only verify) the schemas."""
    parser = argparse.ArgumentParser(prog="python -m g3n_contracts.schemas", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are stale; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_json_schemas(args.directory)
        for name in stale:
            print(f"stale: {args.directory / name}", file=sys.stderr)
        return 1 if stale else 0
    for path in export_json_schemas(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
