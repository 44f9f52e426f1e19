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
- times: "14h30", "8g30" → "… giờ ba mươi phút" ("phút" always said; "14h00" is "mười bốn giờ"); "8g 30"
  reads as written, "tám giờ ba mươi", like "8 giờ 30"; a bare "8g" is an hour only in a time context (after
  lúc, từ, đến, trước, sau, vào, đúng, hồi; before a part of the day or "ngày" and a date; at one end of a range
  whose other end is a time; or with two-digit minutes after it), otherwise grams ("500g", "5g muối");
- document numbers: number, "năm" + year, then the code's words without "trên"/"gạch"
  ("183/KH-UBND" → "một trăm tám mươi ba kế hoạch ủy ban nhân dân"); "CP" in a code is "chính phủ",
  elsewhere "cổ phần";
- a dotted decimal ("1.5") is "phẩy" only with a unit, %, money or magnitude word, otherwise "chấm" ("4.0");
- ranges: "5-7", "25-35°C" and, with the unit or currency at both ends, "5kg-10kg", "10.000đ-15.000đ/kg",
  "7 giờ - 11 giờ" read "đến"; "2-1" (a score) does not; a dash with a space before it and none after is a minus
  sign ("-5°C");
- letters are spelled "a bê xê đê …" with D and Đ both "đê" (as in "ô đê a"), G "giê", N "en", M "em";
- URLs: the host only ("dongnai.gov.vn" → "đồng nai chấm gốp chấm vê en"); labels that read as Vietnamese
  syllables are left as written, others spelled; "@" is "a còng";
- "P./Q./X./H./TT." before a capital or a digit are phường/quận/xã/huyện/thị trấn (addresses), so an
  initial such as "Trần P. Nam" would be misread.

The package holds one module per step (`cleanup`, `lexicon`, `web`, `phones`, `documents`, `dates`, `headings`,
`quantities`, `punctuation`), the data and helpers they share (`letters`, `acronyms`, `matching`, `report`) and
`pipeline`, which runs the steps in order.
"""

from nguon.speech.normalize.acronyms import ACRONYMS
from nguon.speech.normalize.cleanup import roman_value
from nguon.speech.normalize.letters import LETTER_NAMES, UPPER, VOWELS, is_syllable, spell
from nguon.speech.normalize.pipeline import normalize, normalize_with_report
from nguon.speech.normalize.quantities import UNITS
from nguon.speech.normalize.report import NormalizationReport

__all__ = [
    "ACRONYMS",
    "LETTER_NAMES",
    "UNITS",
    "UPPER",
    "VOWELS",
    "NormalizationReport",
    "is_syllable",
    "normalize",
    "normalize_with_report",
    "roman_value",
    "spell",
]
