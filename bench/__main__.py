"""Run the benchmarks (`bench/*_bench.py`, each with a `run() -> dict`) and print one JSON document.

`python -m bench` runs all; `python -m bench speech` runs the ones whose name contains "speech".
Each benchmark measures its reference (raw espeak-ng, nginx, Mosquitto, …) in the same run.
"""

import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")
    wanted = argv[1:]
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.endswith("_bench"))
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "benchmarks": {},
    }
    for name in names:
        if wanted and not any(w in name for w in wanted):
            continue
        module = importlib.import_module(f"bench.{name}")
        sys.stderr.write(f"running {name}…\n")
        results["benchmarks"][name.removesuffix("_bench")] = module.run()
    json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
