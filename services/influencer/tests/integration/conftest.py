"""Influencer integration fixtures (see ifm_support.py)."""

import sys
from pathlib import Path

# The helpers live beside the tests under a name no other test tree uses.
sys.path.insert(0, str(Path(__file__).parent))

from ifm_support import ifm

__all__ = ["ifm"]
