"""A dialog's draft, kept in the conversation state under its own key, so that what a person has
typed so far survives a restart of the bot."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext


class StoredDraft:
    def __init__(self, key: str) -> None:
        self.key = key

    async def load(self, state: FSMContext) -> dict[str, Any]:
        return dict((await state.get_data()).get(self.key) or {})

    async def save(self, state: FSMContext, draft: dict[str, Any]) -> None:
        await state.update_data({self.key: draft})
