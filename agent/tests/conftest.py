"""Agent tests: plain pytest and asyncio, no Django. The agent runs against tests/fake_server.py on loopback."""

import sys
from pathlib import Path

try:
    import nguon_agent  # noqa: F401 - installed (pip install ./agent, or -e)
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
