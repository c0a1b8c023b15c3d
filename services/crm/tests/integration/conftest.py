import sys
from pathlib import Path

# crm_support (app/DB fixtures, API client helpers) lives beside the tests.
sys.path.insert(0, str(Path(__file__).parent))

from crm_support import crm_env  # noqa: F401  (module-scoped fixture)
