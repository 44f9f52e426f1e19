"""What a normalisation did besides the text."""

from __future__ import annotations

from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


@dataclass
class NormalizationReport:
    """What `normalize_with_report` did besides the text: inputs for the back office's lexicon screen."""

    text: str = ""
    spelled: list[str] = field(default_factory=list)  # unknown acronyms spelled letter by letter
    lexicon_hits: list[str] = field(default_factory=list)  # keys of the caller's lexicon that were used
    removed: list[str] = field(default_factory=list)  # characters dropped as unspeakable (emoji, other scripts)

    def _add(self, items: list[str], item: str) -> None:
        if item not in items:
            items.append(item)
