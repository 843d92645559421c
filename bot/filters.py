"""Filters shared by dialogs."""

from __future__ import annotations

from aiogram import F

# What a dialog step takes as an answer: text that is not a command. A command typed in the
# middle of a dialog goes to its own handler (or to the fallback), never into a field.
TEXT_INPUT = F.text & ~F.text.startswith("/")
# Anything that is not text (a photo, a sticker, a file, a location…), answered with a hint.
NOT_TEXT = ~F.text
