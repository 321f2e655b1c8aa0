"""Text rules one by one, on Latin, Cyrillic, CJK and Persian (RTL) text."""

import pytest

from components.text_cleaner.normalisation import clean_text, dedup_key, normalise_unicode


@pytest.mark.parametrize("lang, raw, expected", [
    ("ja", "ＡＢＣ１２３です", "ABC123です"),           # full-width Latin and digits -> ASCII
    ("ja", "ｶﾀｶﾅ", "カタカナ"),                        # half-width katakana -> full-width
    ("zh", "你好，世界！", "你好,世界!"),                # full-width punctuation
    ("zh-Hant", "ＯＫ了", "OK了"),
    ("ko", "ㅋㅋㅋ ㅠㅠ", "ㅋㅋㅋ ㅠㅠ"),                 # compatibility jamo survive (NFKC would break them)
    ("ko", "ＯＫ 좋아요", "OK 좋아요"),                   # but full-width Latin is folded
    ("en", "cafe\u0301", "café"),                       # NFC composes
    ("en", "10 m² and ½ cup", "10 m² and ½ cup"),       # NFKC would rewrite these; NFC keeps them
    ("uk", "м’ясо і п\u02bcять", "м'ясо і п'ять"),      # apostrophe look-alikes inside words
    ("uk", "Привіт", "Привіт"),
    ("fa", "علي كتاب", "علی کتاب"),                     # Arabic yeh/kaf -> Persian
    ("fa", "مصطفى", "مصطفی"),                           # alef maksura -> Persian yeh
    ("fa", "سال ١٤٠٢", "سال ۱۴۰۲"),                    # Arabic-Indic -> Persian digits
    ("fa", "کـــتاب", "کتاب"),                          # tatweel removed
    ("fa", "ﺳﻼﻡ", "سلام"),                              # presentation forms -> letters
    ("fa", "می\u200cخواهم", "می\u200cخواهم"),            # ZWNJ is Persian spelling: kept
])
def test_unicode_normalisation_per_script(lang, raw, expected):
    assert normalise_unicode(raw, lang) == expected


@pytest.mark.parametrize("lang, raw, expected, rules", [
    ("en", "<p>Hello <b>there</b></p> &amp; bye", "Hello there & bye", ["html"]),
    ("en", "is a < b and c > d?", "is a < b and c > d?", []),
    ("uk", "дивись https://example.com/a?b=1 і www.test.org тут", "дивись і тут", ["url"]),
    ("en", "mail ivan.petrenko+x@example.com.ua now", "mail now", ["email"]),
    ("uk", "@oksana привіт, напиши на oksana@mail.ua", "привіт, напиши на", ["email", "mention"]),
    ("ja", "＠ｔａｒｏ こんにちは", "こんにちは", ["unicode", "mention"]),
    ("en", "bell\x07 zero\u200bwidth\ufeff", "bell zerowidth", ["control"]),
    ("fa", "سلام\u200f دنیا", "سلام دنیا", ["control"]),
    ("fa", "نمی\u200cدانم", "نمی\u200cدانم", []),
    ("en", "  many \t spaces\nand lines  ", "many spaces and lines", ["whitespace"]),
    ("zh", "你好\u3000世界", "你好 世界", ["unicode"]),
    ("en", " <b>tag</b>  and\tspace ", "tag and space", ["whitespace", "html"]),
])
def test_noise_rules_and_their_names(lang, raw, expected, rules):
    assert clean_text(raw, lang) == (expected, rules)


def test_dedup_key_ignores_case_punctuation_and_spaces():
    assert dedup_key("Hello, World!") == dedup_key("hello world")
    assert dedup_key("你好！") == dedup_key("你好")
    assert dedup_key("Привіт!") == dedup_key("привіт")
    assert dedup_key("سلام؟") == dedup_key("سلام")
    assert dedup_key("?!") == "?!"
    assert dedup_key("hello") != dedup_key("help")
