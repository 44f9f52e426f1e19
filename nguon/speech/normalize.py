"""Vietnamese text normalisation for speech: turn a bulletin into the words a Vietnamese voice should say.

Pure Python, no Django. `normalize(text)` returns lower-case Vietnamese words and the sentence punctuation
(. , ; : ? !) that makes a synthesiser pause; "" when nothing is speakable (the caller raises the error).

The rules run in a fixed order, each one on what the earlier ones left:

1. clean-up: HTML tags and entities, NFC, emoji and unspeakable characters, bullets, one pause per line;
   a parenthesised acronym that only repeats the words before it ("Ủy ban nhân dân (UBND)") is dropped;
2. the caller's pronunciation lexicon (exact words or phrases; case-sensitive for keys without a lower-case letter);
3. URLs and e-mail addresses (the host only, "chấm" between labels; paths are not read);
4. phone numbers, digit by digit in their groups ("không chín một hai, ba bốn năm, sáu bảy tám");
5. document numbers: "30/2020/NĐ-CP" → "ba mươi năm hai nghìn không trăm hai mươi nghị định chính phủ";
6. dates and times, then ranges between them ("đến");
7. Roman numerals after heading words (Phần, Chương, Mục, Điều, Khoản, Phụ lục, Quý, Khóa, Đại hội, …);
8. address abbreviations (TP., TX., TT., P./Q./X./H. before a name or number) and the built-in acronym lexicon;
9. number ranges, money, percentages, units, ordinals ("thứ 4" → "thứ tư"), months ("tháng 4" → "tháng tư"),
   fractions, then every remaining number (thousands "1.234.567", decimals "3,5" → "ba phẩy năm");
10. unknown all-capital acronyms spelled with Vietnamese letter names ("PCI" → "pê xê i"), single capital
    consonants likewise ("độ C" → "độ xê"); capitals that form a Vietnamese syllable ("THÔNG BÁO") are words;
11. symbols (& và, + cộng, = bằng, ~ khoảng, % phần trăm, / between words a pause), lower case, punctuation tidy.

Reading choices (formal, northern-standard radio reading; a listener from the south may expect otherwise):

- numbers: "linh" (never "lẻ"), "nghìn" (never "ngàn", unless the text writes "ngàn"), "lăm" (never "nhăm"),
  "mốt" and "tư" after "mươi"; zero-padded counts read as numbers ("05 người" → "năm người"); zero-led strings
  of four digits or more, and runs of ten digits or more, are codes read digit by digit;
- dates: "ngày 5 tháng 6", not "ngày mùng 5"; month 4 is "tháng tư", month 1 "tháng một" (not "tháng giêng");
  a bare "d/m" is a date only after a date word (ngày, sáng, từ, đến, dịp, lễ, …), when d > m ("23/5"), for
  2/9, 1/5, 1/6, 1/10, or after another date and a dash; otherwise it is a fraction ("3/4" ba phần bốn,
  "10/12 xã" mười trên mười hai); "24/7" stays "hai mươi tư trên bảy";
- times: "14h30" → "mười bốn giờ ba mươi phút" ("phút" always said; "14h00" is "mười bốn giờ");
- document numbers: number, "năm" + year, then the code's words without "trên"/"gạch"
  ("183/KH-UBND" → "một trăm tám mươi ba kế hoạch ủy ban nhân dân"); "CP" in a code is "chính phủ",
  elsewhere "cổ phần";
- a dotted decimal ("1.5") is "phẩy" only with a unit, %, money or magnitude word, otherwise "chấm" ("4.0");
- letters are spelled "a bê xê đê …" with D and Đ both "đê" (as in "ô đê a"), G "giê", N "en", M "em";
- URLs: the host only ("dongnai.gov.vn" → "đồng nai chấm gốp chấm vê en"); labels that read as Vietnamese
  syllables are left as written, others spelled; "@" is "a còng";
- "P./Q./X./H./TT." before a capital or a digit are phường/quận/xã/huyện/thị trấn (addresses), so an
  initial such as "Trần P. Nam" would be misread.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from nguon.speech.numbers import DIGIT_WORDS, read_decimal, read_digits, read_month, read_number, read_ordinal

__all__ = ["ACRONYMS", "NormalizationReport", "normalize", "normalize_with_report", "spell"]

# --------------------------------------------------------------------------------------------------------------
# Letters
# --------------------------------------------------------------------------------------------------------------

UPPER = "A-ZĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
VOWELS = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵ"

# Vietnamese names of letters, as said when spelling an acronym ("UBND" → "u bê en đê").
LETTER_NAMES = {
    "A": "a",
    "Ă": "á",
    "Â": "ớ",
    "B": "bê",
    "C": "xê",
    "D": "đê",
    "Đ": "đê",
    "E": "e",
    "Ê": "ê",
    "F": "ép",
    "G": "giê",
    "H": "hát",
    "I": "i",
    "J": "gi",
    "K": "ca",
    "L": "e lờ",
    "M": "em",
    "N": "en",
    "O": "o",
    "Ô": "ô",
    "Ơ": "ơ",
    "P": "pê",
    "Q": "quy",
    "R": "e rờ",
    "S": "ét",
    "T": "tê",
    "U": "u",
    "Ư": "ư",
    "V": "vê",
    "W": "vê kép",
    "X": "ích",
    "Y": "i dài",
    "Z": "dét",
}

# Private characters that fence a date's or a time's reading until ranges between them are joined.
_OPEN, _CLOSE = "\ue000", "\ue001"
_FENCES = (_OPEN, _CLOSE)

# One Vietnamese syllable: onset, one to three vowel letters (glides and i/y/o/u finals included), final consonant.
_ONSET = "(?:ngh|ng|gh|gi|kh|ph|th|tr|ch|nh|qu|[bcdđghklmnprstvx])"
_CODA = "(?:ng|nh|ch|[cmnpt])"
_SYLLABLE = re.compile(rf"{_ONSET}?[{VOWELS}]{{1,3}}{_CODA}?")


def is_syllable(word: str) -> bool:
    """Whether a word (any case) has the shape of one Vietnamese syllable: "THÔNG" yes, "UBND" no."""
    return _SYLLABLE.fullmatch(word.lower()) is not None


def _letter_name(ch: str) -> str:
    up = ch.upper()
    name = LETTER_NAMES.get(up)
    if name is not None:
        return name
    if "0" <= ch <= "9":
        return DIGIT_WORDS[ord(ch) - 48]
    base = unicodedata.normalize("NFD", up)
    # Keep the letter-forming marks of Ă Â Ê Ô Ơ Ư, drop the tone.
    for composed in (base[:2], base[:1]):
        name = LETTER_NAMES.get(unicodedata.normalize("NFC", composed))
        if name is not None:
            return name
    return ch.lower()


def _pad(m: re.Match, words: str) -> str:
    """The replacement for a match, with a space only where it would otherwise touch a letter or digit."""
    text, start, end = m.string, m.start(), m.end()
    left = " " if start and (text[start - 1].isalnum() or text[start - 1] in _FENCES) else ""
    right = " " if end < len(text) and (text[end].isalnum() or text[end] in _FENCES) else ""
    return f"{left}{words}{right}"


def spell(token: str) -> str:
    """Spell letters and digits one by one with Vietnamese names: spell("PCI") == "pê xê i"."""
    return " ".join(_letter_name(ch) for ch in token if ch.isalnum())


# --------------------------------------------------------------------------------------------------------------
# Built-in acronym lexicon (case-sensitive, whole words). Staff override any entry with the `lexicon` argument.
# --------------------------------------------------------------------------------------------------------------

ACRONYMS: dict[str, str] = {
    # Government and Party bodies
    "UBND": "ủy ban nhân dân",
    "HĐND": "hội đồng nhân dân",
    "VPUBND": "văn phòng ủy ban nhân dân",
    "UBMTTQ": "ủy ban mặt trận tổ quốc",
    "UBMTTQVN": "ủy ban mặt trận tổ quốc việt nam",
    "MTTQ": "mặt trận tổ quốc",
    "MTTQVN": "mặt trận tổ quốc việt nam",
    "UBKT": "ủy ban kiểm tra",
    "BCH": "ban chấp hành",
    "BCĐ": "ban chỉ đạo",
    "BTV": "ban thường vụ",
    "BQL": "ban quản lý",
    "TU": "tỉnh ủy",
    "HU": "huyện ủy",
    "TW": "trung ương",
    "T.Ư": "trung ương",
    "TƯ": "trung ương",
    "QH": "quốc hội",
    "QL": "quốc lộ",
    "ĐBQH": "đại biểu quốc hội",
    "VP": "văn phòng",
    "CP": "cổ phần",
    "TTg": "thủ tướng",
    "TTCP": "thủ tướng chính phủ",
    "ĐCSVN": "đảng cộng sản việt nam",
    "CHXHCN": "cộng hòa xã hội chủ nghĩa",
    "XHCN": "xã hội chủ nghĩa",
    "CAND": "công an nhân dân",
    "QĐND": "quân đội nhân dân",
    "LLVT": "lực lượng vũ trang",
    "NHNN": "ngân hàng nhà nước",
    "NHCSXH": "ngân hàng chính sách xã hội",
    "TTXVN": "thông tấn xã việt nam",
    "ĐTN": "đoàn thanh niên",
    "TNCS": "thanh niên cộng sản",
    "HLHPN": "hội liên hiệp phụ nữ",
    "LHPN": "liên hiệp phụ nữ",
    "HND": "hội nông dân",
    "CCB": "cựu chiến binh",
    "LĐLĐ": "liên đoàn lao động",
    # Ministries and departments
    "BTC": "bộ tài chính",
    "BNV": "bộ nội vụ",
    "BYT": "bộ y tế",
    "BCA": "bộ công an",
    "BQP": "bộ quốc phòng",
    "BTP": "bộ tư pháp",
    "BCT": "bộ công thương",
    "BXD": "bộ xây dựng",
    "BGTVT": "bộ giao thông vận tải",
    "BGDĐT": "bộ giáo dục và đào tạo",
    "BTNMT": "bộ tài nguyên và môi trường",
    "BNNPTNT": "bộ nông nghiệp và phát triển nông thôn",
    "BKHĐT": "bộ kế hoạch và đầu tư",
    "BKHCN": "bộ khoa học và công nghệ",
    "BTTTT": "bộ thông tin và truyền thông",
    "BLĐTBXH": "bộ lao động thương binh và xã hội",
    "BVHTTDL": "bộ văn hóa thể thao và du lịch",
    "SNV": "sở nội vụ",
    "STC": "sở tài chính",
    "SYT": "sở y tế",
    "STP": "sở tư pháp",
    "SCT": "sở công thương",
    "SXD": "sở xây dựng",
    "SGTVT": "sở giao thông vận tải",
    "SGDĐT": "sở giáo dục và đào tạo",
    "STNMT": "sở tài nguyên và môi trường",
    "SKHĐT": "sở kế hoạch và đầu tư",
    "SKHCN": "sở khoa học và công nghệ",
    "STTTT": "sở thông tin và truyền thông",
    "SLĐTBXH": "sở lao động thương binh và xã hội",
    "SVHTTDL": "sở văn hóa thể thao và du lịch",
    # Sectors
    "NN&PTNT": "nông nghiệp và phát triển nông thôn",
    "NNPTNT": "nông nghiệp và phát triển nông thôn",
    "TN&MT": "tài nguyên và môi trường",
    "TNMT": "tài nguyên và môi trường",
    "GD&ĐT": "giáo dục và đào tạo",
    "GDĐT": "giáo dục và đào tạo",
    "KH&CN": "khoa học và công nghệ",
    "KHCN": "khoa học và công nghệ",
    "KH&ĐT": "kế hoạch và đầu tư",
    "KHĐT": "kế hoạch và đầu tư",
    "TT&TT": "thông tin và truyền thông",
    "TTTT": "thông tin và truyền thông",
    "LĐTBXH": "lao động thương binh và xã hội",
    "LĐ-TB&XH": "lao động thương binh và xã hội",
    "VHTTDL": "văn hóa thể thao và du lịch",
    "VH-TT&DL": "văn hóa thể thao và du lịch",
    "GTVT": "giao thông vận tải",
    "KT-XH": "kinh tế xã hội",
    "KTXH": "kinh tế xã hội",
    "QP-AN": "quốc phòng an ninh",
    "QPAN": "quốc phòng an ninh",
    "ANQP": "an ninh quốc phòng",
    "ANTT": "an ninh trật tự",
    "ATGT": "an toàn giao thông",
    "TNGT": "tai nạn giao thông",
    "ATTP": "an toàn thực phẩm",
    "VSATTP": "vệ sinh an toàn thực phẩm",
    "PCCC": "phòng cháy chữa cháy",
    "CNCH": "cứu nạn cứu hộ",
    "CSGT": "cảnh sát giao thông",
    "CNTT": "công nghệ thông tin",
    "CĐS": "chuyển đổi số",
    "CSDL": "cơ sở dữ liệu",
    "CCHC": "cải cách hành chính",
    "TTHC": "thủ tục hành chính",
    "DVC": "dịch vụ công",
    "DVCTT": "dịch vụ công trực tuyến",
    "ĐVHC": "đơn vị hành chính",
    "GPMB": "giải phóng mặt bằng",
    "NTM": "nông thôn mới",
    "SXKD": "sản xuất kinh doanh",
    "HTX": "hợp tác xã",
    "DN": "doanh nghiệp",
    "DNNVV": "doanh nghiệp nhỏ và vừa",
    "KCN": "khu công nghiệp",
    "CCN": "cụm công nghiệp",
    "KKT": "khu kinh tế",
    "KCX": "khu chế xuất",
    "BHXH": "bảo hiểm xã hội",
    "BHYT": "bảo hiểm y tế",
    "BHTN": "bảo hiểm thất nghiệp",
    "CSXH": "chính sách xã hội",
    "CBCCVC": "cán bộ công chức viên chức",
    "CBCC": "cán bộ công chức",
    "CBCNV": "cán bộ công nhân viên",
    "NLĐ": "người lao động",
    "TTYT": "trung tâm y tế",
    "TYT": "trạm y tế",
    "BVĐK": "bệnh viện đa khoa",
    "BV": "bệnh viện",
    # Schools and titles
    "THPT": "trung học phổ thông",
    "THCS": "trung học cơ sở",
    "ĐH": "đại học",
    "ĐHQG": "đại học quốc gia",
    "CĐ": "cao đẳng",
    "PGS.TS.": "phó giáo sư tiến sĩ",
    "PGS.TS": "phó giáo sư tiến sĩ",
    "GS.TS.": "giáo sư tiến sĩ",
    "GS.TS": "giáo sư tiến sĩ",
    "PGS.": "phó giáo sư",
    "PGS": "phó giáo sư",
    "GS.": "giáo sư",
    "GS": "giáo sư",
    "TS.": "tiến sĩ",
    "TS": "tiến sĩ",
    "ThS.": "thạc sĩ",
    "ThS": "thạc sĩ",
    "Th.S": "thạc sĩ",
    "BS.": "bác sĩ",
    "BS": "bác sĩ",
    "KS.": "kỹ sư",
    "KS": "kỹ sư",
    "Đ/c": "đồng chí",
    "đ/c": "đồng chí",
    # Signature blocks
    "TM.": "thay mặt",
    "KT.": "ký thay",
    "TL.": "thừa lệnh",
    "TUQ.": "thừa ủy quyền",
    # Documents
    "NĐ-CP": "nghị định chính phủ",
    "NQ-CP": "nghị quyết chính phủ",
    "QĐ-TTg": "quyết định thủ tướng",
    "CT-TTg": "chỉ thị thủ tướng",
    "NĐ": "nghị định",
    "NQ": "nghị quyết",
    "QĐ": "quyết định",
    "TT": "thông tư",
    "KH": "kế hoạch",
    "CV": "công văn",
    "TB": "thông báo",
    "BC": "báo cáo",
    "CT": "chỉ thị",
    "HD": "hướng dẫn",
    "TTr": "tờ trình",
    "STT": "số thứ tự",
    "ĐVT": "đơn vị tính",
    # Places
    "TP.HCM": "thành phố hồ chí minh",
    "Tp.HCM": "thành phố hồ chí minh",
    "TP. HCM": "thành phố hồ chí minh",
    "TP HCM": "thành phố hồ chí minh",
    "TPHCM": "thành phố hồ chí minh",
    "HCM": "hồ chí minh",
    "TP.": "thành phố",
    "Tp.": "thành phố",
    "TP": "thành phố",
    "TX.": "thị xã",
    "TX": "thị xã",
    "VN": "việt nam",
    "ĐBSCL": "đồng bằng sông cửu long",
    # Indices and international names
    "PCI": "pê xê i",
    "PAPI": "pa pi",
    "PAR Index": "pa in đéc",
    "PAR INDEX": "pa in đéc",
    "SIPAS": "xi pát",
    "DDCI": "đê đê xê i",
    "COVID": "cô vít",
    "Covid": "cô vít",
    "SARS-CoV-2": "sát cô vi hai",
    "HIV": "hát i vê",
    "AIDS": "ết",
    "ASEAN": "a xê an",
    "APEC": "a pếch",
    "UNESCO": "u nét xcô",
    "UNICEF": "u ni xép",
    "WHO": "tổ chức y tế thế giới",
    "WTO": "tổ chức thương mại thế giới",
    "EU": "e u",
    "AI": "ây ai",
    "BOT": "bê o tê",
    "OK": "ô kê",
    # Telephones and currencies
    "SĐT": "số điện thoại",
    "CSKH": "chăm sóc khách hàng",
    "VAT": "vê a tê",
    "ĐT": "điện thoại",
    "ĐTDĐ": "điện thoại di động",
    "USD": "đô la mỹ",
    "VNĐ": "đồng",
    "VND": "đồng",
    "EUR": "ơ rô",
}

# In a document number's code the same letters can mean something else ("NĐ-CP": chính phủ, not cổ phần).
_CODE_ACRONYMS = {
    **ACRONYMS,
    "CP": "chính phủ",
    "KT": "kinh tế",
    "KL": "kết luận",
    "QC": "quy chế",
    "ĐA": "đề án",
    "CTr": "chương trình",
    "TW": "trung ương",
}

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


# --------------------------------------------------------------------------------------------------------------
# Speed: every pattern below starts with a literal or a character class, so that the regex engine can skip to
# candidate positions; "not preceded by" look-behinds come after the first character ("\d(?<!\w\d)").
# --------------------------------------------------------------------------------------------------------------

_WORD_BEFORE = re.compile(r"(\w+)\s*$")


def _word_before(text: str, start: int, width: int = 24) -> str:
    """The word just before `start` (lower case), skipping spaces; "" if there is none."""
    m = _WORD_BEFORE.search(text, max(0, start - width), start)
    return m.group(1).lower() if m else ""


def _words_before(text: str, start: int, pattern: re.Pattern) -> re.Match | None:
    return pattern.search(text, max(0, start - 30), start)


# --------------------------------------------------------------------------------------------------------------
# 1. Clean-up
# --------------------------------------------------------------------------------------------------------------

_HIDDEN_ELEMENTS = "script|style|noscript|template|iframe|object|embed|svg|head|textarea|select"
_HTML_HIDDEN_START = re.compile(rf"<\s*({_HIDDEN_ELEMENTS})\b", re.I)
_HTML_HIDDEN_END = {name: re.compile(rf"</\s*{name}\s*>", re.I) for name in _HIDDEN_ELEMENTS.split("|")}
_HTML_BLOCK = re.compile(
    r"</?\s*(?:br|p|div|li|ul|ol|h[1-6]|tr|table|thead|tbody|tfoot|section|article|header|footer|aside|nav"
    r"|blockquote|pre|dd|dt|dl|hr|figure|figcaption|caption|main)\b[^<>]*>",
    re.I,
)
_HTML_CELL = re.compile(r"</?\s*(?:td|th)\b[^<>]*>", re.I)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
_HTML_LIKE = re.compile(r"<[A-Za-z/!?]")


def _drop_hidden_html(text: str) -> str:
    """Remove <script>…</script> and its kind with their content; an unclosed one takes the rest of the text."""
    out: list[str] = []
    pos = 0
    while True:
        start = _HTML_HIDDEN_START.search(text, pos)
        if start is None:
            out.append(text[pos:])
            break
        out.append(text[pos : start.start()])
        end = _HTML_HIDDEN_END[start.group(1).lower()].search(text, start.end())
        if end is None:
            break
        out.append(" ")
        pos = end.end()
    text = "".join(out)
    if "<!--" in text:  # comments, the same way
        out = []
        pos = 0
        while True:
            start_at = text.find("<!--", pos)
            if start_at == -1:
                out.append(text[pos:])
                break
            out.append(text[pos:start_at])
            end_at = text.find("-->", start_at + 4)
            if end_at == -1:
                break
            pos = end_at + 3
        text = "".join(out)
    return text


def _strip_html(text: str) -> str:
    for _ in range(2):  # a second pass for tags that were written as entities (&lt;script&gt;)
        if _HTML_LIKE.search(text):
            text = _drop_hidden_html(text)
            text = _HTML_BLOCK.sub("\n", text)
            text = _HTML_CELL.sub(" ", text)
            text = _HTML_TAG.sub("", text)
        if "&" not in text:
            break
        text = html.unescape(text)
    return text


# Characters outside ASCII and the Latin blocks Vietnamese uses; each one is mapped or dropped.
_NON_LATIN = re.compile(r"[^\x00-\x7f\u00b0\u00b2\u00b3\u00c0-\u024f\u1e00-\u1eff]")
_CHAR_MAP = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a\u2033", ""),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-"),
    **dict.fromkeys("\u2014\u2015", " - "),
    **dict.fromkeys(
        "\u2022\u25e6\u25aa\u25ab\u25cf\u25cb\u25a0\u25a1\u25c6\u25c7\u25ba\u25b6\u27a2\u27a4\u2192\u21d2\u2023"
        "\u2043\u2713\u2714\u2610\u2611\u2605\u2606\u2756\u274f\u2794",
        "•",
    ),
    "\u2026": "...",
    "\u00b7": " ",
    "\u2103": "°C",
    "\u2109": "°F",
    "\u20ab": "₫",
    "\u20ac": "€",
    "\u2030": "‰",
    "\u2248": "~",
    "\u223c": "~",
    "\u2265": "≥",
    "\u2264": "≤",
    "\u2260": " khác ",
    "\u00b1": " cộng trừ ",
    "\u2116": " số ",
    "\u00a7": " điều ",
    "\u00bd": " 1/2 ",
    "\u00bc": " 1/4 ",
    "\u00be": " 3/4 ",
    "\u00b9": "1",
}


def _map_char(ch: str, report: NormalizationReport) -> str:
    mapped = _CHAR_MAP.get(ch)
    if mapped is not None:
        return mapped
    category = unicodedata.category(ch)
    if category[0] in "ZP" or category == "Cc":
        return " "
    report._add(report.removed, ch)  # emoji, pictographs, other scripts, stray combining marks
    return ""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PAREN_ACRONYM = re.compile(rf"\(\s*([{UPPER}][{UPPER}&.\-]{{0,15}}[{UPPER}])\s*\)")
_ROMAN = re.compile(r"(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50}


def roman_value(token: str) -> int | None:
    """The value of a Roman numeral made of I, V, X, L (1-89), or None."""
    if not token or not _ROMAN.fullmatch(token):
        return None
    total = 0
    for i, ch in enumerate(token):
        value = _ROMAN_VALUES[ch]
        if i + 1 < len(token) and _ROMAN_VALUES[token[i + 1]] > value:
            total -= value
        else:
            total += value
    return total


def _drop_paren_acronym(m: re.Match) -> str:
    # "Ủy ban nhân dân (UBND)": the acronym only repeats the words before it, as newsreaders skip it.
    if roman_value(m.group(1)) is not None:
        return m.group(0)
    return ""


_BULLET = re.compile(r"^(?:•+\s*|[-+*>]+\s+)")
_LINE_ROMAN = re.compile(r"^([IVXL]+)\s*([.)])\s+")
_LINE_NUMBER = re.compile(r"^(\d{1,2})\)\s+")
_LINE_LETTER = re.compile(r"^([a-zđA-ZĐ])[).]\s+")
_LINE_END = re.compile(r"[.,;:!?]$")
_LIST_MARKER = re.compile(r"^(?:[IVXL]+\s*[.)]|\d{1,2}\)|[a-zđA-ZĐ][).])\s+")


def _join_lines(text: str) -> str:
    """One pause between lines: bullets and list markers read, a full stop added where a line has none."""
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    out: list[str] = []
    for i, line in enumerate(lines):
        line = _BULLET.sub("", line)
        m = _LINE_ROMAN.match(line)
        if m and (value := roman_value(m.group(1))):
            line = f"{read_number(value)}{'.' if m.group(2) == '.' else ','} {line[m.end() :]}"
        elif m := _LINE_NUMBER.match(line):
            line = f"{read_number(int(m.group(1)))}, {line[m.end() :]}"
        elif m := _LINE_LETTER.match(line):
            line = f"{_letter_name(m.group(1))}, {line[m.end() :]}"
        if not line:
            continue
        if i + 1 < len(lines) and not _LINE_END.search(line):
            # A line that runs on in lower case is a wrapped sentence; anything else ends here.
            following = _LIST_MARKER.sub("", _BULLET.sub("", lines[i + 1]))[:1]
            if not (following.isalpha() and following.islower()):
                line += "."
        out.append(line)
    return " ".join(out)


def _prepare(text: str, report: NormalizationReport) -> str:
    if "<" in text or "&" in text:
        text = _strip_html(text)
    text = unicodedata.normalize("NFC", text)
    if not text.isascii():
        text = _NON_LATIN.sub(lambda m: _map_char(m.group(), report), text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL.sub(" ", text)
    if "(" in text:
        text = _PAREN_ACRONYM.sub(_drop_paren_acronym, text)
    return _join_lines(text)


# --------------------------------------------------------------------------------------------------------------
# 2. Lexicons, compiled as a trie so that a long lexicon costs little more than a short one
# --------------------------------------------------------------------------------------------------------------


def _char_pattern(ch: str, fold: bool) -> str:
    if fold and ch.lower() != ch.upper() and len(ch.upper()) == 1 and len(ch.lower()) == 1:
        return f"[{re.escape(ch.lower())}{re.escape(ch.upper())}]"
    return re.escape(ch)


def _trie_pattern(keys: list[tuple[str, bool]]) -> str:
    """One regex matching any key as a whole word (longest first); keys marked True match in any case."""
    trie: dict = {}
    for key, fold in keys:
        node = trie
        tokens = []
        for part_index, part in enumerate(key.split()):
            if part_index:
                tokens.append(r"\s+")
            tokens.extend(_char_pattern(ch, fold) for ch in part)
        for token in tokens:
            node = node.setdefault(token, {})
        node[""] = r"(?!\w)" if key[-1].isalnum() else ""

    def build(node: dict, depth: int, first_char: str = "") -> str:
        alternatives = []
        for token in sorted(k for k in node if k):
            head = token
            if depth == 0:
                # "Not preceded by a letter", checked after the first character so the engine can skip ahead.
                head = f"{token}(?<!\\w{token})" if token.startswith("[") or token[-1:].isalnum() else token
            alternatives.append(head + build(node[token], depth + 1))
        if "" in node:
            alternatives.append(node[""])
        if len(alternatives) == 1:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + ")"

    return build(trie, 0) if trie else r"(?!x)x"


def _is_acronym_key(key: str) -> bool:
    return not any(ch.islower() for ch in key)


@lru_cache(maxsize=32)
def _compile_lexicon(items: frozenset[tuple[str, str]]) -> tuple[re.Pattern, dict[str, str], dict[str, str]]:
    exact: dict[str, str] = {}
    folded: dict[str, str] = {}
    keys: list[tuple[str, bool]] = []
    for key, value in items:
        key = " ".join(unicodedata.normalize("NFC", key).split())
        if not key:
            continue
        value = unicodedata.normalize("NFC", value)
        if _is_acronym_key(key):
            exact[key] = value
            keys.append((key, False))
        else:
            folded[key.lower()] = value
            keys.append((key, True))
    return re.compile(_trie_pattern(keys)), exact, folded


def _apply_user_lexicon(text: str, lexicon: Mapping[str, str], report: NormalizationReport) -> str:
    pattern, exact, folded = _compile_lexicon(frozenset((str(k), str(v)) for k, v in lexicon.items()))

    def replace(m: re.Match) -> str:
        found = " ".join(m.group(0).split())
        value = exact.get(found)
        if value is None:
            value = folded.get(found.lower())
        if value is None:  # pragma: no cover - the trie only matches keys
            return m.group(0)
        report._add(report.lexicon_hits, found)
        return _pad(m, value)

    return pattern.sub(replace, text)


# Built-in acronyms that are also Vietnamese syllables ("AI", "TU") are words inside an all-capital heading.
_SYLLABLE_ACRONYMS = frozenset(k for k in ACRONYMS if k.isalpha() and is_syllable(k))
_ACRONYM_RE = re.compile(_trie_pattern([(k, False) for k in ACRONYMS]))
_PREV_WORD = re.compile(r"(\w+)\W*$")
_NEXT_WORD = re.compile(r"\W*(\w+)")


def _in_capital_heading(text: str, start: int, end: int) -> bool:
    before = _PREV_WORD.search(text, max(0, start - 40), start)
    after = _NEXT_WORD.match(text, end)
    return any(m and len(m.group(1)) > 1 and m.group(1).isupper() and is_syllable(m.group(1)) for m in (before, after))


def _builtin_acronym(m: re.Match) -> str:
    key = " ".join(m.group(0).split())
    if key in _SYLLABLE_ACRONYMS and _in_capital_heading(m.string, m.start(), m.end()):
        return m.group(0)
    return _pad(m, ACRONYMS[key])


# --------------------------------------------------------------------------------------------------------------
# 3. URLs and e-mail addresses
# --------------------------------------------------------------------------------------------------------------

_DOMAIN_WORDS = {
    "gov": "gốp",
    "vn": "vê en",
    "com": "com",
    "net": "nét",
    "org": "o rờ gờ",
    "edu": "e đu",
    "info": "in phô",
    "dongnai": "đồng nai",
    "chinhphu": "chính phủ",
    "baodongnai": "báo đồng nai",
    "dichvucong": "dịch vụ công",
    "mail": "meo",
    "gmail": "gờ meo",
    "email": "i meo",
}
_PRONOUNCEABLE = re.compile(rf"(?:{_ONSET}?[aeiouy]{{1,3}}{_CODA}?)+")  # a label that reads as written
_URL = re.compile(r"(?:[hH][tT][tT][pP][sS]?://|[wW][wW][wW]\.)[^\s<>\"']+")
_TLD_HINT = re.compile(r"\.(?:vn|com|net|org|gov|edu|info|int|io)(?![\w-])", re.I)
_BARE_DOMAIN = re.compile(
    r"[a-z0-9](?<![\w@.\-/][a-z0-9])[a-z0-9\-]*\.(?:[a-z0-9][a-z0-9\-]*\.)*(?:vn|com|net|org|gov|edu|info|int|io)"
    r"(?![\w\-]|\.[a-z0-9])(?:/[^\s]*)?",
    re.I,
)
_EMAIL = re.compile(r"[A-Za-z0-9](?<![\w.+\-][A-Za-z0-9])[A-Za-z0-9._+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_TRAILING_PUNCT = ".,;:!?)]}'\""
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?", re.I)
_URL_REST = re.compile(r"[/?#:]")
_LABEL_PARTS = re.compile(r"[a-z]+|\d+")
_LOCAL_PARTS = re.compile(r"([._+\-])")
_LOCAL_SEPARATORS = {".": "chấm", "_": "gạch dưới", "-": "gạch ngang", "+": "cộng"}


def _read_label(label: str) -> str:
    low = label.lower()
    if low in _DOMAIN_WORDS:
        return _DOMAIN_WORDS[low]
    words = []
    for part in _LABEL_PARTS.findall(low):
        if part.isdigit():
            words.append(read_digits(part))
        elif len(part) <= 12 and _PRONOUNCEABLE.fullmatch(part):
            words.append(part)
        else:
            words.append(spell(part))
    return " ".join(words)


def _read_host(host: str) -> str:
    return " chấm ".join(_read_label(label) for label in host.split(".") if label)


def _url(m: re.Match) -> str:
    url = m.group(0)
    tail = ""
    while url and url[-1] in _TRAILING_PUNCT:
        tail = url[-1] + tail
        url = url[:-1]
    host = _URL_REST.split(_URL_PREFIX.sub("", url), maxsplit=1)[0]
    return _pad(m, f"{_read_host(host)}{tail}" if host else tail)


def _email(m: re.Match) -> str:
    local, _, host = m.group(0).partition("@")
    words = [_LOCAL_SEPARATORS.get(part) or _read_label(part) for part in _LOCAL_PARTS.split(local) if part]
    return _pad(m, f"{' '.join(words)} a còng {_read_host(host)}")


# --------------------------------------------------------------------------------------------------------------
# 4. Phone numbers
# --------------------------------------------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?P<cc>\+(?<![\w.,+]\+)\s?84|\((?<![\w.,+]\()0\d{1,3}\)|0(?<![\w.,+]0))(?P<rest>(?:[ .\-]?\d)+)(?!\w)"
)
_HOTLINE = re.compile(r"(?P<num>1(?<![\w.,]1)[89]00(?:[ .]?\d){4,6})(?!\w)")
_PHONE_WORDS = ("hotline", "đường dây nóng", "tổng đài", "điện thoại", "sđt", "đt", "fax", "zalo")
_PHONE_CONTEXT = re.compile(
    r"(?P<num>\d(?<![\w.,]\d)(?:[ .\-]?\d){2,14})(?!\w)",
)
_PHONE_CONTEXT_BEFORE = re.compile(r"(?<!\w)(?i:hotline|đường dây nóng|tổng đài|điện thoại|sđt|đt|fax|zalo)\s*:?\s*$")
_EMERGENCY = re.compile(r"1(?<![\w.,]1)1[1-6](?!\w|[.,]\d)")
_EMERGENCY_BEFORE = re.compile(
    r"(?<!\w)(?i:gọi)(?:\s+(?i:ngay|đến|tới|vào))?(?:\s+(?i:số|đường dây nóng|tổng đài))?\s+$"
)
_PHONE_SEP = re.compile(r"[ .\-]")
_CHUNK_SIZES = {10: [4, 3, 3], 11: [4, 4, 3], 9: [3, 3, 3], 8: [4, 4], 7: [3, 4], 6: [3, 3], 5: [2, 3]}


def _chunk(digits: str) -> list[str]:
    n = len(digits)
    if n <= 4:
        return [digits]
    sizes = _CHUNK_SIZES.get(n)
    if sizes is None:
        sizes = [3] * (n // 3)
        sizes[-1] += n % 3
    out, pos = [], 0
    for size in sizes:
        out.append(digits[pos : pos + size])
        pos += size
    return out


def _read_groups(groups: list[str]) -> str:
    """Digit groups with a pause between them, the way a number is dictated: "không hai năm một, ba tám …"."""
    merged: list[str] = []
    for group in groups:  # a lone digit joins the next group ("3.822.123" is "ba tám hai hai, một hai ba")
        if merged and len(merged[-1]) == 1:
            merged[-1] += group
        else:
            merged.append(group)
    chunks: list[str] = []
    for group in merged:
        chunks.extend(_chunk(group) if len(group) > 4 else [group])
    return ", ".join(read_digits(chunk) for chunk in chunks if chunk)


def _phone(m: re.Match) -> str:
    cc = m.group("cc").replace(" ", "")
    rest = m.group("rest")
    if cc == "+84":
        prefix, digits, valid = "cộng tám bốn, ", rest.lstrip(" .-"), (9, 10)
    elif cc == "0":
        prefix, digits, valid = "", "0" + rest, (10, 11)
    else:  # "(0251) 3822 123": the brackets close a group
        prefix, digits, valid = "", cc.strip("()") + " " + rest.lstrip(" .-"), (10, 11)
    pieces = _PHONE_SEP.split(digits)
    seps = _PHONE_SEP.findall(digits)
    total, best = 0, -1
    for i, piece in enumerate(pieces):
        total += len(piece)
        if total in valid:
            best = i
        if total >= valid[-1]:
            break
    if best < 0:
        return m.group(0)
    # Digits written after the number ("0912 345 678 12 người") are given back untouched.
    leftover = "".join(seps[j] + pieces[j + 1] for j in range(best, len(pieces) - 1))
    return _pad(m, f"{prefix}{_read_groups(pieces[: best + 1])}{leftover}")


def _hotline(m: re.Match) -> str:
    num = m.group("num")
    groups = _PHONE_SEP.split(num)
    if len(groups) == 1:
        groups = [num[:4], num[4:]]
    return _pad(m, _read_groups(groups))


def _phone_context(m: re.Match) -> str:
    if not _words_before(m.string, m.start(), _PHONE_CONTEXT_BEFORE):
        return m.group(0)
    return _pad(m, _read_groups(_PHONE_SEP.split(m.group("num"))))


def _emergency(m: re.Match) -> str:
    if not _words_before(m.string, m.start(), _EMERGENCY_BEFORE):
        return m.group(0)
    return _pad(m, read_digits(m.group(0)))


# --------------------------------------------------------------------------------------------------------------
# 5. Document numbers: "183/KH-UBND", "30/2020/NĐ-CP", "59/2020/QH14"
# --------------------------------------------------------------------------------------------------------------

_DOC_NUMBER = re.compile(r"(\d(?<![\w/.,]\d)\d{0,4})(?:/(\d{4}))?/([A-ZĐ][\w&]*(?:[-–][A-ZĐ][\w&]*)*)(?![\w/])")
_PARTY_DOC_NUMBER = re.compile(r"(\d(?<![\w/.,\-]\d)\d{0,4})-([A-ZĐ][A-ZĐa-z]*)/([A-ZĐ][\wĐ]*)(?![\w/])")  # 57-NQ/TW
_ROAD = re.compile(r"(QL|ĐT|TL|HL|ĐH)(?<!\w..)\.?\s?([1-9]\d{0,2})([A-Z]?)(?!\w|[.,]\d)")
_ROADS = {"QL": "quốc lộ", "ĐT": "đường tỉnh", "TL": "tỉnh lộ", "HL": "hương lộ", "ĐH": "đường huyện"}
_LETTERS_DIGITS = re.compile(r"[^\W\d_]+|\d+")


def _read_code_piece(piece: str) -> str:
    if piece in _CODE_ACRONYMS:
        return _CODE_ACRONYMS[piece]
    if "&" in piece:
        return " và ".join(_read_code_piece(p) for p in piece.split("&") if p)
    words = []
    for part in _LETTERS_DIGITS.findall(piece):
        if part.isdigit():
            words.append(read_number(int(part)))
        else:
            words.append(_CODE_ACRONYMS.get(part) or spell(part))
    return " ".join(words)


def _party_doc_number(m: re.Match) -> str:
    number, kind, issuer = m.groups()
    return _pad(m, f"{read_number(int(number))} {_read_code_piece(kind)} {_read_code_piece(issuer)}")


def _road(m: re.Match) -> str:
    # "QL51", "ĐT 768", "QL1A": roads, not a telephone ("ĐT:" with a colon stays a telephone).
    road, number, letter = m.groups()
    words = f"{_ROADS[road]} {read_number(int(number))}"
    if letter:
        words += " " + _letter_name(letter)
    return _pad(m, words)


def _doc_number(m: re.Match) -> str:
    number, year, code = m.groups()
    words = [read_number(int(number))]
    if year:
        words += ["năm", read_number(int(year))]
    code = code.replace("–", "-")
    if code in _CODE_ACRONYMS:
        words.append(_CODE_ACRONYMS[code])
    else:
        words += [_read_code_piece(piece) for piece in code.split("-") if piece]
    return _pad(m, " ".join(words))


# --------------------------------------------------------------------------------------------------------------
# 6. Dates and times. Their readings are fenced by two private characters so that a dash (or "đến") between
#    two of them reads "đến"; the fences become spaces at the end of the step.
# --------------------------------------------------------------------------------------------------------------

_END_OF_DATE = r"(?![\w/]|[.,]\d)"
_DAY = r"(\d(?<![\w/.,\-]\d)\d?)"
_DATE_DMY = re.compile(rf"{_DAY}([/.\-])(\d{{1,2}})\2(\d{{4}}){_END_OF_DATE}")
_DATE_DAY_RANGE = re.compile(rf"{_DAY}\s*[-–]\s*(\d{{1,2}})/(\d{{1,2}})(?:/(\d{{4}}))?{_END_OF_DATE}")
_QUARTER_YEAR = re.compile(r"([1-4]|IV|I{1,3})\s*[/\-]\s*(\d{4})(?![\w/])")
_QUARTER_BEFORE = re.compile(r"(?<!\w)(?i:quý)\s+$")
_MONTH_YEAR = re.compile(rf"{_DAY}\s*([/\-])\s*(\d{{4}}){_END_OF_DATE}")
_DATE_DM = re.compile(rf"{_DAY}/(\d{{1,2}}){_END_OF_DATE}")
_NGAY_BEFORE = re.compile(r"(?<!\w)(?i:ngày)\s+$")
_THANG_BEFORE = re.compile(r"(?<!\w)(?i:tháng)\s+$")
# The word before a bare "d/m" that makes it a date ("sáng 15/3", "từ 1/7"), or a street name ("đường 30/4").
_DATE_WORDS = frozenset(
    (
        *("ngày", "sáng", "trưa", "chiều", "tối", "đêm", "hôm", "từ", "đến", "tới", "trước", "sau", "vào", "và"),
        *("hạn", "hết", "dịp", "lễ", "khánh", "niệm", "mừng"),
    )
)
_HOLIDAYS = frozenset(((2, 9), (1, 5), (1, 6), (1, 10)))  # read as dates even where a fraction could be meant
_AFTER_DATE_DASH = re.compile(rf"{_CLOSE}\s*[-–]\s*$")  # "30/4 - 1/5"
_STREET_WORDS = frozenset(("đường", "phố", "trường", "viên", "cầu", "hẻm", "kiệt"))
_TIME = re.compile(
    r"(\d(?<![\w.,:]\d)\d?)(?:[hg](\d{2})(?:'|ph|p)?(?:\s*phút(?!\w))?|h|:(\d{2})(?::(\d{2}))?)(?!\w)(?!:\d)"
)
_FENCED_RANGE = re.compile(rf"{_CLOSE}\s*(?:-|đến)\s*{_OPEN}")


def _fence(words: str) -> str:
    return f"{_OPEN}{words}{_CLOSE}"


def _valid_date(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _date_dmy(m: re.Match) -> str:
    day, month, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
    if not _valid_date(day, month):
        return m.group(0)
    ngay = "" if _words_before(m.string, m.start(), _NGAY_BEFORE) else "ngày "
    return _fence(f"{ngay}{read_number(day)} tháng {read_month(month)} năm {read_number(year)}")


def _date_day_range(m: re.Match) -> str:
    first, last, month = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (_valid_date(first, month) and _valid_date(last, month) and first < last):
        return m.group(0)
    ngay = "" if _words_before(m.string, m.start(), _NGAY_BEFORE) else "ngày "
    words = f"{ngay}{read_number(first)} đến {read_number(last)} tháng {read_month(month)}"
    if m.group(4):
        words += f" năm {read_number(int(m.group(4)))}"
    return _fence(words)


def _quarter_year(m: re.Match) -> str:
    if not _words_before(m.string, m.start(), _QUARTER_BEFORE):
        return m.group(0)
    quarter = m.group(1)
    value = int(quarter) if quarter.isdigit() else roman_value(quarter)
    return _pad(m, f"{read_number(value)} năm {read_number(int(m.group(2)))}")


def _month_year(m: re.Match) -> str:
    month, separator, year = int(m.group(1)), m.group(2), int(m.group(3))
    after_thang = _words_before(m.string, m.start(), _THANG_BEFORE) is not None
    if not 1 <= month <= 12 or (separator == "-" and not after_thang):  # "5-2024" alone is not a date
        return m.group(0)
    return _fence(f"{'' if after_thang else 'tháng '}{read_month(month)} năm {read_number(year)}")


def _date_dm(m: re.Match) -> str:
    day, month = int(m.group(1)), int(m.group(2))
    if not _valid_date(day, month):
        return m.group(0)
    before = _word_before(m.string, m.start())
    if before in _STREET_WORDS:  # "đường 30/4" is the street named after the date: "đường ba mươi tháng tư"
        return f"{read_number(day)} tháng {read_month(month)}"
    if before == "ngày":
        return _fence(f"{read_number(day)} tháng {read_month(month)}")
    if (
        before in _DATE_WORDS
        or (day, month) in _HOLIDAYS
        or (day > month and (day, month) != (24, 7))
        or _words_before(m.string, m.start(), _AFTER_DATE_DASH)
    ):
        # "23/5" is a date; "1/2", "10/12 xã" are fractions or counts and "24/7" is "all the time".
        return _fence(f"ngày {read_number(day)} tháng {read_month(month)}")
    return m.group(0)


def _time(m: re.Match) -> str:
    hour = int(m.group(1))
    minute = m.group(2) or m.group(3)
    second = m.group(4)
    if hour > 24 or (minute and int(minute) > 59) or (second and int(second) > 59):
        return m.group(0)
    words = f"{read_number(hour)} giờ"
    if minute and int(minute):
        words += f" {read_number(int(minute))} phút"
    if second and int(second):
        words += f" {read_number(int(second))} giây"
    return _fence(words)


# --------------------------------------------------------------------------------------------------------------
# 7. Roman numerals after heading words
# --------------------------------------------------------------------------------------------------------------

_ROMAN_TOKEN = re.compile(r"[IVXL](?<!\w[IVXL])[IVXL]*(?!\w)")
_HEADING_BEFORE = re.compile(
    r"(?<!\w)((?i:phần|chương|mục|tiểu mục|điều|khoản|phụ lục|quý|khóa|khoá|đại hội|kỳ họp|kì họp|hội nghị"
    r"|thế kỷ|thế kỉ|tập|giai đoạn|thứ))\s+$"
)


def _roman_heading(m: re.Match) -> str:
    value = roman_value(m.group(0))
    if value is None:
        return m.group(0)
    heading = _words_before(m.string, m.start(), _HEADING_BEFORE)
    if heading is None:
        return m.group(0)
    return read_ordinal(value) if heading.group(1).lower() == "thứ" else read_number(value)


# --------------------------------------------------------------------------------------------------------------
# 8. Address abbreviations
# --------------------------------------------------------------------------------------------------------------

_ADDRESS_ABBR = re.compile(rf"(T(?<!\wT)T|[PQXH](?<!\w[PQXH]))\.\s*(?=\d|[{UPPER}])")
_ADDRESS_WORDS = {"TT": "thị trấn", "P": "phường", "Q": "quận", "X": "xã", "H": "huyện"}
_VV = re.compile(r"v(?<!\wv)\.\s?v(?:\.+)?(?=(\s*[A-ZĐ]|\s*$))?")
_LETTER_DOT_WORD = re.compile(r"([A-ZĐ])(?<!\w[A-ZĐ])\.(?=[A-Z][a-z])")


def _vv(m: re.Match) -> str:
    sentence_end = m.group(1) is not None and m.group(0).endswith(".")
    return _pad(m, "vân vân." if sentence_end else "vân vân")


# --------------------------------------------------------------------------------------------------------------
# 9. Numbers in context
# --------------------------------------------------------------------------------------------------------------


def _num(not_after: str = "") -> str:
    """A number as written in Vietnamese: thousands dots and a decimal comma ("1.234.567,5"), or a dotted
    decimal ("1.5", read as a decimal only in a measurement). Never taken from the middle of another number,
    nor after a character of `not_after`."""
    return (
        rf"\d(?<![\d{not_after}]\d)(?<!\d[.,]\d)"
        r"(?:\d{0,2}(?:\.\d{3})+(?!\d)(?:,\d+)?|\d*\.\d{1,2}(?![\d.])|\d*(?:,\d+)?)"
    )


_NUM = _num()
_NUM_RANGE_START = _num(r"\w\-")
_MAGNITUDES = {
    "nghìn tỷ": "nghìn tỷ",
    "ngàn tỷ": "ngàn tỷ",
    "nghìn": "nghìn",
    "ngàn": "ngàn",
    "triệu": "triệu",
    "tỷ": "tỷ",
    "tỉ": "tỷ",
    "tr": "triệu",
    "k": "nghìn",
}
_MAG = "(?:" + "|".join(re.escape(k) for k in sorted(_MAGNITUDES, key=len, reverse=True)) + ")"

UNITS = {
    "km/h": "ki lô mét trên giờ",
    "km/giờ": "ki lô mét trên giờ",
    "m/s": "mét trên giây",
    "km²": "ki lô mét vuông",
    "km2": "ki lô mét vuông",
    "m²": "mét vuông",
    "m2": "mét vuông",
    "cm²": "xen ti mét vuông",
    "cm2": "xen ti mét vuông",
    "m³": "mét khối",
    "m3": "mét khối",
    "cm³": "xen ti mét khối",
    "cm3": "xen ti mét khối",
    "ha": "héc ta",
    "km": "ki lô mét",
    "m": "mét",
    "dm": "đề xi mét",
    "cm": "xen ti mét",
    "mm": "mi li mét",
    "kg": "ki lô gam",
    "g": "gam",
    "mg": "mi li gam",
    "l": "lít",
    "ml": "mi li lít",
    "°C": "độ xê",
    "oC": "độ xê",
    "°F": "độ ép",
    "°": "độ",
    "W": "oát",
    "kW": "ki lô oát",
    "MW": "mê ga oát",
    "GW": "gi ga oát",
    "Wh": "oát giờ",
    "kWh": "ki lô oát giờ",
    "MWh": "mê ga oát giờ",
    "GWh": "gi ga oát giờ",
    "V": "vôn",
    "kV": "ki lô vôn",
    "kVA": "ki lô vôn am pe",
    "MVA": "mê ga vôn am pe",
    "Hz": "héc",
    "MHz": "mê ga héc",
    "dB": "đề xi ben",
    "ppm": "phần triệu",
    "MB": "mê ga bai",
    "GB": "gi ga bai",
    "h": "giờ",
    "ph": "phút",
    "s": "giây",
    "k": "nghìn",
    "tr": "triệu",
}
# Units also read without a number before them (unambiguous ones only: "(kWh)", "đơn vị: km²").
_STANDALONE_UNITS = ("km/h", "km²", "km2", "m²", "m³", "cm²", "cm³", "kWh", "MWh", "MW", "kW", "kV", "km", "kg", "°C")
_PER_WORDS = (
    "ngày|tháng|năm|quý|tuần|giờ|phút|người|hộ|lượt|suất|lần|ca|buổi|con|cây|chiếc|cái|tấn|lít|khẩu|học sinh|trẻ"
)
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_PER = rf"(?:\s*/\s*(?:{_UNIT_ALT}|{_PER_WORDS})(?!\w))"

_TIMES = re.compile(r"(\d)\s*[x×]\s*(?=\d)")
_NEGATIVE_TEMPERATURE = re.compile(r"-(?<![\w.,]-)\s?(?=\d[\d.,]*\s*(?:°|oC(?!\w)))")
_RANGE = re.compile(rf"({_NUM_RANGE_START})(\s*%)?\s*[-–]\s*(?=({_NUM})(?!\d))")
_MONEY = re.compile(
    rf"({_NUM})\s*(?:({_MAG})(?!\w)\s*)?"
    r"(?:(đồng|VNĐ|VND|vnđ|vnd|đ|₫)|(USD|usd|đô la [Mm]ỹ|đô la|đô)|(EUR|euro|€))(?!\w)"
    rf"({_PER}*)"
)
_MONEY_PREFIX = re.compile(rf"(US\$|\$|€)\s*({_NUM})(?:\s*({_MAG})(?!\w))?")
_PERCENT = re.compile(rf"({_NUM})\s*(%|‰)")
_UNIT = re.compile(rf"({_NUM})\s*(?:({_MAG})(?!\w)\s*)?({_UNIT_ALT})(?!\w)")
_UNIT_ALONE_HINT = re.compile(r"km|kg|m²|m³|cm²|cm³|kW|kV|MW|°C")
_UNIT_ALONE = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(u) for u in sorted(_STANDALONE_UNITS, key=len, reverse=True)) + r")(?!\w)"
)
_SLASH_PER = re.compile(rf"/\s*(?:{_UNIT_ALT}|{_PER_WORDS})(?!\w){_PER}*")
_MONEY_BEFORE = re.compile(r"(?:đồng|đô la mỹ|ơ rô)\s*$")
_ORDINAL = re.compile(r"([tT]hứ|THỨ)(?<!\w[tT]hứ)(?<!\wTHỨ)\s+(\d{1,3})(?![\d\w])(?![.,/]\d)")
_MONTH = re.compile(r"([tT]háng|THÁNG)(?<!\w[tT]háng)(?<!\wTHÁNG)\s+(\d{1,2})(?![\d\w])(?![.,/\-]\d)")
_BEFORE_MAGNITUDE = re.compile(rf"({_NUM})(?=\s*(?:nghìn|ngàn|triệu|tỷ|tỉ)(?!\w))")
_FRACTION = re.compile(r"(\d(?<![\d.,/]\d)\d{0,5})/(\d{1,6})(?![\d/])(?![.,]\d)")
_DIGIT_RUN = re.compile(r"\d+")
_CARDINAL = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")


def _int_words(digits: str) -> str:
    """A plain digit string: zero-padded counts ("05 người") as numbers, long or zero-led codes digit by digit."""
    if len(digits) > 1 and digits[0] == "0":
        return read_number(int(digits)) if len(digits) <= 3 else read_digits(digits)
    if len(digits) > 9:
        return read_digits(digits)
    return read_number(int(digits))


def _num_words(text: str, *, measure: bool = False) -> str:
    """Read a number token. In a measurement (money, %, unit) a single dot with one or two digits is a decimal."""
    if sum(c.isdigit() for c in text) > 18:  # an identifier, not a quantity (and beyond int()'s comfort)
        return " ".join(read_digits(part) for part in re.split(r"[.,]", text) if part)
    if "," in text:
        whole, _, frac = text.partition(",")
        if "," not in frac and "." not in frac and whole and (whole.isdigit() or _THOUSANDS.fullmatch(whole)):
            return read_decimal(text)
        return " phẩy ".join(_num_words(part) for part in text.split(",") if part)
    if "." in text:
        if _THOUSANDS.fullmatch(text):
            return read_number(int(text.replace(".", "")))
        parts = text.split(".")
        if measure and len(parts) == 2:
            return read_decimal(text)
        return " chấm ".join(_int_words(part) for part in parts if part)
    return _int_words(text)


def _value(text: str) -> float:
    if "," in text:
        whole, _, frac = text.partition(",")
        return float(whole.replace(".", "") + "." + frac)
    if _THOUSANDS.fullmatch(text):
        return float(text.replace(".", ""))
    return float(text)


def _range(m: re.Match) -> str:
    first, percent, second = m.group(1), m.group(2), m.group(3)
    try:
        if _value(first) >= _value(second):  # "2-1" is a score, not a range
            return m.group(0)
    except ValueError:
        return m.group(0)
    return _pad(m, f"{_num_words(first, measure=True)}{' phần trăm' if percent else ''} đến ")


def _per_words(rest: str, joiner: str) -> str:
    return " ".join(f"{joiner} {UNITS.get(part.strip(), part.strip())}" for part in rest.split("/") if part.strip())


def _money(m: re.Match) -> str:
    number, magnitude, vnd, usd, _eur, per = m.groups()
    words = _num_words(number, measure=True)
    if magnitude:
        words += " " + _MAGNITUDES[magnitude]
    words += " đồng" if vnd else " đô la mỹ" if usd else " ơ rô"
    if per:
        words += " " + _per_words(per, "một")
    return _pad(m, words)


def _money_prefix(m: re.Match) -> str:
    symbol, number, magnitude = m.groups()
    words = _num_words(number, measure=True)
    if magnitude:
        words += " " + _MAGNITUDES[magnitude]
    return _pad(m, f"{words} {'ơ rô' if symbol == '€' else 'đô la mỹ'}")


def _percent(m: re.Match) -> str:
    return _pad(m, f"{_num_words(m.group(1), measure=True)} {'phần trăm' if m.group(2) == '%' else 'phần nghìn'}")


def _unit(m: re.Match) -> str:
    number, magnitude, unit = m.groups()
    words = _num_words(number, measure=True)
    if magnitude:
        words += " " + _MAGNITUDES[magnitude]
    return _pad(m, f"{words} {UNITS[unit]}")


def _slash_per(m: re.Match) -> str:
    # "đồng/kg" is "đồng một ki lô gam"; "người/km²", "lượt/ngày" are "trên".
    joiner = "một" if _words_before(m.string, m.start(), _MONEY_BEFORE) else "trên"
    return _pad(m, " " + _per_words(m.group(0), joiner))


def _ordinal(m: re.Match) -> str:
    return f"{m.group(1)} {read_ordinal(int(m.group(2)))}"


def _month(m: re.Match) -> str:
    month = int(m.group(2))
    if not 1 <= month <= 12:
        return m.group(0)
    return f"{m.group(1)} {read_month(month)}"


def _fraction(m: re.Match) -> str:
    top, bottom = int(m.group(1)), int(m.group(2))
    joiner = "phần" if top < bottom <= 10 else "trên"  # "3/4" ba phần bốn, "15/20 xã" mười lăm trên hai mươi
    return _pad(m, f"{_int_words(m.group(1))} {joiner} {_int_words(m.group(2))}")


def _split_digits(m: re.Match) -> str:
    # "5G", "H5N1", "F0": letters and digits are read apart.
    return _pad(m, m.group(0))


# --------------------------------------------------------------------------------------------------------------
# 10. Unknown acronyms and single capitals
# --------------------------------------------------------------------------------------------------------------

_CAPS = re.compile(rf"[{UPPER}](?<!\w[{UPPER}])[{UPPER}]+(?!\w)")
_SINGLE_CONSONANT = re.compile(r"([BCDĐFGHJKLMNPQRSTVWXZ])(?<!\w[BCDĐFGHJKLMNPQRSTVWXZ])(?!\w)")


# --------------------------------------------------------------------------------------------------------------
# 11. Symbols and punctuation
# --------------------------------------------------------------------------------------------------------------

_SYMBOLS = {
    "&": " và ",
    "+": " cộng ",
    "=": " bằng ",
    "≥": " lớn hơn hoặc bằng ",
    "≤": " nhỏ hơn hoặc bằng ",
    ">": " lớn hơn ",
    "<": " nhỏ hơn ",
    "~": " khoảng ",
    "%": " phần trăm ",
    "‰": " phần nghìn ",
    "°": " độ ",
    "@": " a còng ",
    "$": " đô la ",
    "€": " ơ rô ",
    "₫": " đồng ",
    "×": " nhân ",
    "÷": " chia ",
    "#": " ",
    **dict.fromkeys("/•|()[]{}", ", "),
}
_ARROW = re.compile(r"(?:->|=>|-->|<-|<=>)")
_SYMBOL = re.compile(r"[&+=≥≤<>~%‰°@$€₫×÷#/•|()\[\]{}]")
_SPACED_DASH = re.compile(r"\s[-–]+(?=\s|$)")
_UNSPEAKABLE = re.compile(r"[^a-z\s.,;:?!\u00c0-\u024f\u1e00-\u1eff]+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:?!])")
_PUNCT_RUN = re.compile(r"[.,;:?!](?:\s*[.,;:?!])+")
_PUNCT_NO_SPACE = re.compile(r"([.,;:?!])(?=[^\s.,;:?!])")
_SPACES = re.compile(r"\s+")
_ELLIPSIS = re.compile(r"\.{2,}\s*")
_HAS_LETTER = re.compile(r"[^\W\d_]")


def _punct_run(m: re.Match) -> str:
    run = m.group(0)
    for strong in "?!.;:":
        if strong in run:
            return strong
    return ","


# --------------------------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------------------------


def _numbers(t: str) -> str:
    """Steps 4-6 and 9 need digits; a text without any skips them."""
    t = _ROAD.sub(_road, t)
    t = _PHONE.sub(_phone, t)
    t = _HOTLINE.sub(_hotline, t)
    low = t.lower()
    if any(word in low for word in _PHONE_WORDS):
        t = _PHONE_CONTEXT.sub(_phone_context, t)
    if "gọi" in low:
        t = _EMERGENCY.sub(_emergency, t)
    if "/" in t:
        t = _DOC_NUMBER.sub(_doc_number, t)
        t = _PARTY_DOC_NUMBER.sub(_party_doc_number, t)
        t = _DATE_DAY_RANGE.sub(_date_day_range, t)
        if "quý" in low:
            t = _QUARTER_YEAR.sub(_quarter_year, t)
    t = _DATE_DMY.sub(_date_dmy, t)
    if "/" in t or "-" in t:
        t = _MONTH_YEAR.sub(_month_year, t)
    if "/" in t:
        t = _DATE_DM.sub(_date_dm, t)
    t = _TIME.sub(_time, t)
    if _OPEN in t:
        t = _FENCED_RANGE.sub(" đến ", t)
        t = t.replace(_OPEN, " ").replace(_CLOSE, " ")
    return t


def _measures(t: str) -> str:
    t = _TIMES.sub(r"\1 nhân ", t)
    if "°" in t or "oC" in t:
        t = _NEGATIVE_TEMPERATURE.sub("âm ", t)
    t = _RANGE.sub(_range, t)
    if "$" in t or "€" in t:
        t = _MONEY_PREFIX.sub(_money_prefix, t)
    t = _MONEY.sub(_money, t)
    if "%" in t or "‰" in t:
        t = _PERCENT.sub(_percent, t)
    return _UNIT.sub(_unit, t)


def _cardinals(t: str) -> str:
    if "thứ" in t or "Thứ" in t or "THỨ" in t:
        t = _ORDINAL.sub(_ordinal, t)
    if "háng" in t or "THÁNG" in t:
        t = _MONTH.sub(_month, t)
    t = _BEFORE_MAGNITUDE.sub(lambda m: _pad(m, _num_words(m.group(1), measure=True)), t)
    if "/" in t:
        t = _FRACTION.sub(_fraction, t)
    t = _DIGIT_RUN.sub(_split_digits, t)
    return _CARDINAL.sub(lambda m: _pad(m, _num_words(m.group(0))), t)


def _ellipsis(m: re.Match) -> str:
    # "kết quả... tốt" runs on: a short pause; before a capital or at the end it closes the sentence.
    following = m.string[m.end() : m.end() + 1]
    return "," if following.isalpha() and following.islower() else "."


def _finish(t: str) -> str:
    if ".." in t:
        t = _ELLIPSIS.sub(_ellipsis, t)
    if ">" in t or "<-" in t:
        t = _ARROW.sub(", ", t)
    t = _SYMBOL.sub(lambda m: _SYMBOLS[m.group(0)], t)
    if "-" in t or "–" in t:
        t = _SPACED_DASH.sub(", ", t)
        t = t.replace("-", " ").replace("–", " ")
    t = _DIGIT_RUN.sub(lambda m: _pad(m, read_digits(m.group(0))), t)  # nothing should be left; just in case
    t = _UNSPEAKABLE.sub(" ", t.lower())
    t = _SPACE_BEFORE_PUNCT.sub(r"\1", t)
    t = _PUNCT_RUN.sub(_punct_run, t)
    t = _PUNCT_NO_SPACE.sub(r"\1 ", t)
    return _SPACES.sub(" ", t).strip().lstrip(".,;:?! ").rstrip(" ,;:")


def normalize_with_report(text: str, *, lexicon: Mapping[str, str] | None = None) -> NormalizationReport:
    """Normalise `text` for speech and say what was spelled, looked up and dropped on the way."""
    report = NormalizationReport()
    if not text or text.isspace():
        return report
    t = _prepare(text, report)
    if lexicon:
        t = _apply_user_lexicon(t, lexicon, report)

    if "@" in t:
        t = _EMAIL.sub(_email, t)
    if "." in t:
        t = _URL.sub(_url, t)
        if _TLD_HINT.search(t):
            t = _BARE_DOMAIN.sub(_url, t)

    has_digit = _DIGIT_RUN.search(t) is not None
    if has_digit:
        t = _numbers(t)
    t = _ROMAN_TOKEN.sub(_roman_heading, t)
    t = _ADDRESS_ABBR.sub(lambda m: _pad(m, _ADDRESS_WORDS[m.group(1)] + " "), t)
    if "v." in t:
        t = _VV.sub(_vv, t)
    t = _LETTER_DOT_WORD.sub(r"\1 ", t)
    t = _ACRONYM_RE.sub(_builtin_acronym, t)
    if has_digit:
        t = _measures(t)
    if "/" in t:
        t = _SLASH_PER.sub(_slash_per, t)
    if _UNIT_ALONE_HINT.search(t):
        t = _UNIT_ALONE.sub(lambda m: _pad(m, UNITS[m.group(1)]), t)
    if has_digit:
        t = _cardinals(t)

    def spell_caps(m: re.Match) -> str:
        token = m.group(0)
        if is_syllable(token):  # "THÔNG BÁO" is words, not letters
            return token
        report._add(report.spelled, token)
        return _pad(m, spell(token))

    t = _CAPS.sub(spell_caps, t)
    t = _SINGLE_CONSONANT.sub(lambda m: _pad(m, _letter_name(m.group(1))), t)
    t = _finish(t)
    if not _HAS_LETTER.search(t):
        return report
    report.text = t
    return report


def normalize(text: str, *, lexicon: Mapping[str, str] | None = None) -> str:
    """The spoken form of `text` in lower-case Vietnamese words with sentence punctuation; "" if nothing to say."""
    return normalize_with_report(text, lexicon=lexicon).text
