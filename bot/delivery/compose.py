"""What a delivery is sent as: its parts, each one Telegram message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.delivery.sender import Buttons, SendFailed
from bot.delivery.text import CAPTION_LIMIT, split_text, visible_length
from models import Outbox, User


@dataclass(frozen=True)
class Part:
    """One message of a delivery: a piece of the text, or the media with it as the caption."""

    text: str
    media_kind: str | None = None
    media_file_id: str | None = None
    media_data: bytes | None = None
    media_name: str | None = None
    buttons: Buttons | None = None


def compose(
    outbox: Outbox,
    user: User | None,
    render: Callable[[Outbox, User], str] | None,
    render_label: Callable[[str, User | None], str] | None,
) -> list[Part]:
    """The messages a delivery is sent as: its text (rendered in the person's language when it
    is a catalogue key) split as Telegram counts, the media with the first part as its caption
    when it fits, and the buttons under the last."""
    if outbox.text_key:
        if render is None or user is None:
            raise SendFailed(f"no renderer for {outbox.text_key}")
        text = render(outbox, user)
    else:
        text = outbox.text or ""
    parts = [Part(part) for part in split_text(text)]
    if outbox.media_kind and (outbox.media_file_id or outbox.media_data):
        media = Part(
            "",
            media_kind=outbox.media_kind,
            media_file_id=outbox.media_file_id,
            media_data=outbox.media_data,
            media_name=outbox.media_name,
        )
        if parts and visible_length(parts[0].text) <= CAPTION_LIMIT:
            parts = [replace(media, text=parts[0].text), *parts[1:]]
        else:
            parts = [media, *parts]
    if not parts:
        raise SendFailed("nothing to send")
    if outbox.buttons:
        # The buttons go under the last part: the message a person answers is the one below.
        parts[-1] = replace(parts[-1], buttons=_buttons(outbox.buttons, user, render_label))
    return parts


def _buttons(
    rows: list[list[dict[str, str]]],
    user: User | None,
    render_label: Callable[[str, User | None], str] | None,
) -> Buttons:
    rendered: Buttons = []
    for row in rows:
        line = []
        for button in row:
            if "text_key" in button:
                if render_label is None:
                    raise SendFailed(f"no renderer for {button['text_key']}")
                label = render_label(button["text_key"], user)
            else:
                label = button["text"]
            line.append((label, button["data"]))
        rendered.append(line)
    return rendered
