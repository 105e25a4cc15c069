"""``python tests/toy_cli.py batch ...``: the real CLI with the toy model type registered."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import toy_components  # noqa: E402

toy_components.register()

from repair.cli import run  # noqa: E402

run()
