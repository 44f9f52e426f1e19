"""Mask personal data in Vietnamese free text before it is published (NĐ 13/2023 on personal data protection).

`mask(text, names=(...))` replaces what it recognises with the marker "[đã ẩn]" and says what kinds it found:

- ``phone``: mobile and landline numbers, written with spaces, dots or dashes, with 0 or +84 in front
  ("0912 345 678", "0912.345.678", "+84 912345678", "(0251) 3822 123");
- ``email``: e-mail addresses;
- ``id_number``: a run of 9 (CMND) or 12 (CCCD) digits;
- ``account``: other long digit runs (bank accounts, cards): 9 digits or more, or groups of 3–4 digits;
- ``plate``: vehicle licence plates ("60A-123.45", "51F-12345", "59-X1 123.45");
- ``name``: the names given (the citizen's own: the full name in any case, with or without diacritics; surname and
  given name, or middle and given name, when capitalised; the given name alone when it stands capitalised on its own
  in the middle of a sentence) and names introduced by a cue ("tôi là …", "tên tôi là …", "ông …", "bà …",
  "anh …", "chị …", "em …", "cô …", "chú …", "bác …" followed by capitalised syllables). The cue is kept
  ("ông [đã ẩn]"), so the text still reads naturally.

One marker for everything, not initials: initials ("N.V.A.") still single a person out in a small commune.
The masker errs on the side of masking, but leaves ordinary text alone: place names ("Phường Biên Hòa"), streets
after "đường" (even those named after people: "đường Bà Triệu"), titles ("ông Chủ tịch"), dates (23/5/2024),
times (14h30), house numbers ("số 12") and sums of money ("1.500.000 đồng"). A person checks the result before it
is published: this is a help, not a guarantee. Pure Python: no Django.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from nguon.lib.folding import fold

MARK = "[đã ẩn]"

KINDS = ("phone", "email", "id_number", "account", "plate", "name")

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# 0 or +84 (or "(0251)"), then 9 or 10 more digits with single spaces, dots or dashes between them.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\s?84[ .-]?|\(0\d{2,3}\)[ .-]?(?=\d)|0)(?:\d[ .-]?){8,9}\d(?![\w])|"
    r"(?<![\w+])\(0\d{2,3}\)[ .-]?(?:\d[ .-]?){5,7}\d(?![\w])"
)
_DIGITS = re.compile(r"(?<![\w.,/])\d{9,}(?![\w/]|[.,]\d)")
_GROUPED = re.compile(r"(?<![\w.,/])\d{3,4}(?: \d{2,4}){2,}(?![\w/]|[.,]\d)")
_PLATE = re.compile(r"(?<![\w.-])(?:\d{2}[A-Z]{1,2}\d?|\d{2}-[A-Z]{1,2}\d?)[ -]?\d{3}\.?\d{2}(?![\w]|\.\d)", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Cues that introduce a person's name. Honorifics count only in lower case, or capitalised at a sentence start.
_HONORIFICS = {"ông", "bà", "anh", "chị", "em", "cô", "chú", "bác", "cháu", "dì", "cậu", "mợ", "thím"}
_PHRASE_CUES = (("tên", "tôi", "là"), ("tôi", "tên", "là"), ("tôi", "là"), ("tên", "là"), ("tôi", "tên"))
# Capitalised words after a cue that are titles or places, never a name (compared lower-case, with diacritics:
# "trưởng" is a title, "Trương" a surname).
_NOT_NAMES = {
    *("chủ", "phó", "giám", "trưởng", "bí", "tổ", "cán", "ủy", "uỷ", "sĩ", "thầy", "phường", "xã", "ấp", "khu"),
    *("thôn", "đường", "phố", "quận", "huyện", "tỉnh", "chợ", "cầu", "trường", "bệnh", "ban", "sở", "phòng"),
}
# Words that are names too ("Lê Thị Hoa", "Nguyễn Công Thành") but titles or places when a lower-case word
# follows ("Công an", "Thị trấn", "Thành phố", "Đại biểu", "Hội trưởng").
_TITLE_STARTS = {"công", "thị", "thành", "đại", "hội", "bộ", "nhà", "đặc", "tổng", "thư"}
# Words before a cue that make it part of a place: "đường Bà Triệu", "chợ Bà Chiểu", "núi Bà Đen".
_PLACE_WORDS = {
    "đường",
    "phố",
    "phường",
    "xã",
    "ngõ",
    "hẻm",
    "kiệt",
    "chợ",
    "cầu",
    "núi",
    "sông",
    "rạch",
    "trường",
    "bến",
    "quận",
    "huyện",
    "tỉnh",
    "ấp",
    "khu",
    "thôn",
    "đình",
    "chùa",
    "miếu",
    "đền",
    "hồ",
    "kênh",
}
# Places that begin with an honorific and stand without a place word in front of them.
_HONORIFIC_PLACES = {("bà", "rịa"), ("bà", "chiểu"), ("bà", "điểm"), ("bà", "hom"), ("bà", "quẹo"), ("ông", "lãnh")}
_MAX_NAME_WORDS = 4
_SENTENCE_END = ".!?:;\n"


@dataclass
class MaskResult:
    text: str
    # Distinct kinds found, in the order of KINDS.
    found: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.found


@dataclass
class _Word:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def capitalised(self) -> bool:
        # A name syllable: first letter upper case, the rest lower (an acronym such as "UBND" is no name).
        return self.text[0].isupper() and (len(self.text) == 1 or self.text[1:].islower())


def _folded(text: str) -> str:
    """The text folded character by character, so that positions in it are positions in `text`."""
    out = []
    for ch in text:
        f = fold(ch)
        out.append(f if len(f) == 1 else (ch.lower() if len(ch.lower()) == 1 else ch))
    return "".join(out)


def _only_space(text: str, start: int, end: int) -> bool:
    return start <= end and (start == end or text[start:end].isspace()) and "\n" not in text[start:end]


def _sentence_start(text: str, position: int) -> bool:
    before = text[:position].rstrip(" \t\"'“(«")
    return not before or before[-1] in _SENTENCE_END


def _cue_names(text: str, words: list[_Word]) -> list[tuple[int, int]]:
    spans = []
    count = len(words)
    for i, word in enumerate(words):
        cue_end = None
        for phrase in _PHRASE_CUES:
            size = len(phrase)
            if (
                i + size <= count
                and all(words[i + k].lower == phrase[k] for k in range(size))
                and all(_only_space(text, words[i + k].end, words[i + k + 1].start) for k in range(size - 1))
            ):
                cue_end = i + size
                break
        if cue_end is None and word.lower in _HONORIFICS:
            lower_ok = word.text.islower() or _sentence_start(text, word.start)
            place = i > 0 and words[i - 1].lower in _PLACE_WORDS and _only_space(text, words[i - 1].end, word.start)
            if lower_ok and not place:
                cue_end = i + 1
        if cue_end is None or cue_end >= count:
            continue
        first = words[cue_end]
        if (word.lower, first.lower) in _HONORIFIC_PLACES:
            continue
        if not _only_space(text, words[cue_end - 1].end, first.start):
            continue
        run = []
        for j in range(cue_end, min(count, cue_end + _MAX_NAME_WORDS)):
            candidate = words[j]
            if not candidate.capitalised or candidate.lower in _NOT_NAMES:
                break
            if candidate.lower in _TITLE_STARTS and j + 1 < count and words[j + 1].text.islower():
                break
            if run and not _only_space(text, run[-1].end, candidate.start):
                break
            run.append(candidate)
        if run:
            spans.append((run[0].start, run[-1].end))
    return spans


def _name_variants(name: str) -> list[tuple[list[str], bool]]:
    """(folded syllables, must every syllable be capitalised in the text) for one given name."""
    syllables = _WORD.findall(fold(unicodedata.normalize("NFC", name)))
    if not syllables:
        return []
    variants: list[tuple[list[str], bool]] = []
    if len(syllables) >= 2:
        variants.append((syllables, False))
    if len(syllables) >= 3:
        variants.append((syllables[-2:], True))
        variants.append(([syllables[0], syllables[-1]], True))
    return variants


def _given_names(text: str, folded: str, words: list[_Word], names) -> list[tuple[int, int]]:
    spans = []
    for name in names:
        for syllables, capitalised in _name_variants(name):
            pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(s) for s in syllables) + r"(?!\w)")
            for match in pattern.finditer(folded):
                if capitalised:
                    parts = _WORD.findall(text[match.start() : match.end()])
                    if not all(_Word(p, 0, 0).capitalised for p in parts):
                        continue
                spans.append((match.start(), match.end()))
        # The given name alone: only where it stands capitalised on its own in mid-sentence, so that "Hòa" in
        # "Phường Biên Hòa" or a sentence opening with "An toàn …" is left alone.
        syllables = _WORD.findall(fold(unicodedata.normalize("NFC", name)))
        if not syllables:
            continue
        given = syllables[-1]
        for i, word in enumerate(words):
            if _folded(word.text) != given or not word.capitalised or _sentence_start(text, word.start):
                continue
            before = words[i - 1] if i > 0 else None
            after = words[i + 1] if i + 1 < len(words) else None
            # After a capitalised cue ("Anh An") the cue rule masks it; after another capitalised word it is part
            # of a longer name ("Biên Hòa").
            if (
                before is not None
                and before.capitalised
                and before.lower not in _HONORIFICS
                and _only_space(text, before.end, word.start)
            ):
                continue
            if after is not None and after.capitalised and _only_space(text, word.end, after.start):
                continue
            spans.append((word.start, word.end))
    return spans


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def mask(text: str, *, names=()) -> MaskResult:
    """Replace personal data in `text` with MARK; `names` are names known to be personal (the sender's)."""
    if not text:
        return MaskResult(text or "", [])
    text = unicodedata.normalize("NFC", text)
    spans: list[tuple[int, int, str]] = []
    spans += [(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    spans += [(m.start(), m.end(), "plate") for m in _PLATE.finditer(text)]
    spans += [(m.start(), m.end(), "phone") for m in _PHONE.finditer(text)]
    for m in _DIGITS.finditer(text):
        spans.append((m.start(), m.end(), "id_number" if len(m.group()) in (9, 12) else "account"))
    for m in _GROUPED.finditer(text):
        if _digit_count(m.group()) >= 9:
            spans.append((m.start(), m.end(), "account"))
    words = [_Word(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    spans += [(s, e, "name") for s, e in _cue_names(text, words)]
    names = [n for n in names if n and n.strip()]
    if names:
        spans += [(s, e, "name") for s, e in _given_names(text, _folded(text), words, names)]
    if not spans:
        return MaskResult(text, [])
    # Earlier first; of two starting together the longer wins (a phone over the digits inside it).
    priority = {kind: i for i, kind in enumerate(("email", "phone", "plate", "id_number", "account", "name"))}
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0]), priority[s[2]]))
    out = []
    found = set()
    position = 0
    for start, end, kind in spans:
        if start < position:
            # Overlapping finds are masked as one.
            position = max(position, end)
            continue
        out.append(text[position:start])
        out.append(MARK)
        found.add(kind)
        position = end
    out.append(text[position:])
    return MaskResult("".join(out), [k for k in KINDS if k in found])
