"""A terminal chat with the bot through the fake server, for people without a bot token."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.fake_telegram.server import FakeTelegram
from bot.fake_telegram.types import ChatEvent, ChatMessage
from bot.fake_telegram.user import FakeUser

# The console waits longer than tests do: a person would rather wait than lose a reply.
PROCESS_TIMEOUT = 30.0

HELP = """\
Type a message and press Enter to send it; /commands work as in Telegram.
  :press N          press button N of the bot's last message with buttons
  :press TEXT       press the button with this text
  :user ID [NAME]   become another user (created on first use)
  :users            list users
  :photo [CAPTION]  send a photo
  :contact PHONE    share a contact
  :doc PATH         send a file
  :history          show this chat
  :help             this help
  :quit             leave (so does Ctrl-D)
A line starting with "::" sends the text after the first colon."""


async def stdin_reader(prompt: str) -> str | None:
    """A line from the terminal, or None at end of input."""
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


def format_message(msg: ChatMessage, note: str = "") -> list[str]:
    """A message as lines: the text, then numbered buttons, one line per keyboard row."""
    body = msg.text
    if msg.photo is not None:
        body = f"[photo] {body}".rstrip()
    elif msg.document is not None:
        body = f"[file {msg.document.get('file_name', '')}] {body}".rstrip()
    elif msg.sticker is not None:
        body = f"[sticker {msg.sticker.get('emoji', '')}]"
    elif msg.contact is not None:
        body = f"[contact {msg.contact['phone_number']}]"
    elif msg.location is not None:
        body = f"[location {msg.location['latitude']}, {msg.location['longitude']}]"
    lines = (note + body).splitlines() or [note.rstrip()]
    number = 0
    for row in msg.buttons:
        cells = []
        for button in row:
            number += 1
            link = f" ({button.url})" if button.url else ""
            cells.append(f"[{number}] {button.text}{link}")
        lines.append("  ".join(cells))
    return lines


class Console:
    def __init__(
        self,
        server: FakeTelegram,
        read_line: Callable[[str], Awaitable[str | None]],
        write: Callable[[str], None],
        first_user_id: int,
        language_code: str,
    ) -> None:
        self.server = server
        self.read_line = read_line
        self.write = write
        self.language_code = language_code
        self.current = server.user(first_user_id, language_code=language_code)
        self.seen = server.seq

    def who(self, user: FakeUser) -> str:
        return f"{user.full_name} ({user.id})"

    async def run(self) -> None:
        while True:
            line = await self.read_line(f"{self.current.id}> ")
            if line is None:
                return
            line = line.strip()
            if not line:
                continue
            if line.startswith("::"):
                line = line[1:]  # "::text" sends ":text"
            elif line.startswith(":"):
                if not await self.command(line[1:]):
                    return
                continue
            await self.act(self.current.send(line))

    async def command(self, line: str) -> bool:
        """Runs a console command; False means leave."""
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if name in ("quit", "q", "exit"):
            return False
        if name == "help":
            self.write(HELP)
        elif name == "press":
            await self.press(rest)
        elif name == "user":
            self.switch_user(rest)
        elif name == "users":
            for user in self.server.users:
                mark = "*" if user is self.current else " "
                self.write(f"{mark} {self.who(user)}")
        elif name == "photo":
            await self.act(self.current.send_photo(rest or None))
        elif name == "contact":
            if not rest:
                self.write("Usage: :contact PHONE")
            else:
                await self.act(self.current.send_contact(rest))
        elif name == "doc":
            await self.send_document(rest)
        elif name == "history":
            for msg in self.current.messages:
                self.show(msg, self.history_note(msg))
        else:
            self.write(f"Unknown command :{name}; :help lists them.")
        return True

    def history_note(self, msg: ChatMessage) -> str:
        if not msg.from_bot:
            return f"{self.current.first_name}: "
        flags = [f"edited {msg.edited}x"] if msg.edited else []
        if msg.deleted:
            flags.append("deleted")
        return f"bot ({', '.join(flags)}): " if flags else "bot: "

    async def press(self, wanted: str) -> None:
        if not wanted:
            self.write("Usage: :press N or :press TEXT")
            return
        if wanted.isdigit():
            target = next((m for m in reversed(self.current.bot_messages) if m.buttons), None)
            buttons = target.flat_buttons if target is not None and not target.deleted else []
            index = int(wanted) - 1
            if not buttons:
                self.write("The bot's messages have no buttons to press.")
                return
            if not 0 <= index < len(buttons):
                self.write(f"No button {wanted}; the last keyboard has {len(buttons)}.")
                return
            button = buttons[index]
            if target is None or button.callback_data is None:
                self.write(f"Button {wanted} opens {button.url or 'something else'}.")
                return
            await self.act(self.current.press_data(target.message_id, button.callback_data))
            return
        try:
            update = self.current.press(wanted)
            await self.act(update)
        except AssertionError as exc:
            self.write(str(exc))

    def switch_user(self, rest: str) -> None:
        parts = rest.split(maxsplit=1)
        if not parts or not parts[0].lstrip("-").isdigit():
            self.write("Usage: :user ID [NAME]")
            return
        user_id = int(parts[0])
        name = parts[1] if len(parts) > 1 else f"User{user_id}"
        self.current = self.server.user(user_id, name, language_code=self.language_code)
        self.write(f"You are now {self.who(self.current)}.")

    async def send_document(self, rest: str) -> None:
        if not rest:
            self.write("Usage: :doc PATH")
            return
        try:
            name, content = await asyncio.to_thread(_read_file, rest)
        except (OSError, ValueError) as exc:
            self.write(f"Cannot read the file: {exc}")
            return
        await self.act(self.current.send_document(name, content))

    async def act(self, sending: Awaitable[int]) -> None:
        """Sends an update, waits for the bot to handle it and shows what the bot did."""
        update_id = await sending
        try:
            await self.server.wait_processed(update_id, PROCESS_TIMEOUT)
        except TimeoutError as exc:
            self.write(f"(no answer yet: {exc})")
        self.show_events()

    def show_events(self) -> None:
        events = self.server.events_since(self.seen)
        self.seen += len(events)
        shown: set[tuple[int, int]] = set()
        for event in events:
            self.show_event(event, shown)

    def show_event(self, event: ChatEvent, shown: set[tuple[int, int]]) -> None:
        user = self.server.user(event.chat_id)
        prefix = f"bot → {self.who(user)}"
        if event.kind == "answer" and event.answer is not None:
            if event.answer.text:
                style = "alert" if event.answer.show_alert else "notice"
                self.write(f"{prefix} ({style}): {event.answer.text}")
            return
        if event.message_id is None:
            return
        if event.kind == "deleted":
            self.write(f"{prefix}: (deleted message {event.message_id})")
            return
        key = (event.chat_id, event.message_id)
        if key in shown:
            return  # several edits of one message in one step: its final state is enough
        shown.add(key)
        msg = self.server.get_message(event.chat_id, event.message_id)
        if msg.deleted:
            return
        note = f"(edited message {msg.message_id}) " if event.kind == "edited" else ""
        self.show(msg, note, prefix=f"{prefix}: ")

    def show(self, msg: ChatMessage, note: str, *, prefix: str = "") -> None:
        lines = format_message(msg, prefix + note)
        self.write("\n".join([lines[0], *("    " + line for line in lines[1:])]))


def _read_file(argument: str) -> tuple[str, bytes]:
    path = Path(shlex.split(argument)[0]).expanduser()
    return path.name, path.read_bytes()


async def run_console(
    server: FakeTelegram,
    *,
    read_line: Callable[[str], Awaitable[str | None]],
    write: Callable[[str], None],
    first_user_id: int = 1001,
    language_code: str = "ru",
) -> None:
    """Chat with the bot as one or more users until :quit or the end of input."""
    await Console(server, read_line, write, first_user_id, language_code).run()
