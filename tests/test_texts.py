"""Quotes inside quotes: a value put in «…» by a text reads with „…“ inside, never «…«…»…»."""

from __future__ import annotations

import pytest

from bot.i18n import create_i18n
from bot.texts import SafeHTML, nest_quotes, t


@pytest.mark.parametrize(
    ("value", "outer", "expected"),
    [
        ("АНО «Развитие»", "«", "АНО „Развитие“"),
        ("«Развитие»", "«", "Развитие"),  # wholly quoted: the text's own quotes are enough
        ('ТОС "Заречье"', "«", "ТОС „Заречье“"),
        ("the “Future” club", "“", "the ‘Future’ club"),
        ("Без кавычек", "«", "Без кавычек"),
    ],
)
def test_nest_quotes(value, outer, expected):
    assert nest_quotes(value, outer) == expected


def test_html_values_keep_their_straight_quotes():
    html = SafeHTML('<a href="x">«Сад»</a>')
    assert nest_quotes(html, "«", straight=False) == '<a href="x">„Сад“</a>'


def test_a_text_nests_the_quotes_of_what_it_quotes():
    i18n = create_i18n("ru")
    with i18n.context(), i18n.use_locale("ru"):
        text = t("join-sent", number=1, name="ТОС «Заречье» & Co")
    assert "Заявка №1 «ТОС „Заречье“ &amp; Co» отправлена" in text
