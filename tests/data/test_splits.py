"""Which configured languages are held out."""

import pytest

from data.splits import held_out


def test_held_out_languages_are_the_configured_ones_folded():
    assert held_out(("en", "nl", "zh-Hant"), ("NL", "zh_hant", "xx")) == ("nl", "zh-Hant")
    assert held_out(("en", "it"), ("nl",)) == ()
    assert held_out(("en",), ()) == ()


def test_holding_out_every_language_is_refused():
    with pytest.raises(ValueError, match="holds out every configured language"):
        held_out(("en", "nl"), ("nl", "en"))
