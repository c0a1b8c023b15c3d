import sys
from pathlib import Path

# Test-support modules (event builders, the test consumer process) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))
