"""spun-repair: find and undo the damage an article spinner does to English text.

>>> from repair import Repairer
>>> result = Repairer.from_pretrained().repair(text)   # doctest: +SKIP
>>> result.repaired, result.edits, result.signature     # doctest: +SKIP
"""
__version__ = "0.1.0"

from .edits import Alternative, Edit, RepairResult, Span, apply_edits, match_case  # noqa: E402
from .repairer import Repairer  # noqa: E402
from .batch import batch_repairer  # noqa: E402

__all__ = ["Alternative", "Edit", "RepairResult", "Repairer", "Span", "apply_edits", "batch_repairer", "match_case",
           "__version__"]
