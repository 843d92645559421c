"""The fake Telegram Bot API server: a real aiogram bot talks to it over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from aiohttp import web

from bot.fake_telegram import FakeTelegram, parse_html
from bot.fake_telegram.console import run_console

TOKEN = "123456:TEST-fake-telegram"
USER_ID = 5001


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )


def echo_router() -> Router:
    router = Router()

    @router.message(F.text == "/start")
    async def start(message: Message) -> None:
        name = html.escape(message.from_user.first_name)
        await message.answer(
            f"Hello, <b>{name}</b>!",
            reply_markup=keyboard([("Press me", "press"), ("Другая", "other")]),
        )

    @router.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        data = await bot.download(message.photo[-1])
        await message.answer(f"photo of {len(data.getvalue())} bytes")

    @router.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        data = await bot.download(message.document)
        await message.answer(f"{message.document.file_name}: {data.getvalue().decode()}")

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        await message.answer(f"phone {message.contact.phone_number}")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(html.escape(message.text))

    @router.callback_query(F.data == "press")
    async def press(query: CallbackQuery) -> None:
        await query.answer("Pressed!", show_alert=True)
        await query.message.edit_text("<i>Pressed</i>")

    @router.callback_query()
    async def other(query: CallbackQuery) -> None:
        await query.answer(f"data={query.data}")

    return router


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(
        TOKEN,
        session=AiohttpSession(api=server.api),
        default=DefaultBotProperties(parse_mode="HTML"),
    )
    yield bot
    await bot.session.close()


@pytest.fixture
async def polling(bot: Bot) -> AsyncIterator[Bot]:
    dp = Dispatcher()
    dp.include_router(echo_router())
    task = asyncio.create_task(
        dp.start_polling(bot, handle_as_tasks=False, polling_timeout=1, handle_signals=False)
    )
    yield bot
    # Not task.cancel(): cancelling start_polling leaves aiogram's inner polling task running.
    with contextlib.suppress(RuntimeError):
        await dp.stop_polling()
    await task


async def raw_call(server: FakeTelegram, method: str, **params: Any) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/bot{TOKEN}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


# --- Chatting with a polling bot -----------------------------------------------------------------


async def test_say_round_trip(server, polling):
    user = server.user(USER_ID, "Ann <3")
    replies = await user.say("/start")
    assert [m.text for m in replies] == ["Hello, Ann <3!"]
    reply = replies[0]
    assert reply.from_bot and reply.html == "Hello, <b>Ann &lt;3</b>!"
    assert reply.entities == [{"offset": 7, "length": 6, "type": "bold"}]
    assert user.button_texts() == ["Press me", "Другая"]
    assert reply.buttons[0][1].callback_data == "other"
    assert [m.from_bot for m in user.messages] == [False, True]
    assert user.messages[0].text == "/start"

    replies = await user.say("a < b & c")
    assert replies[0].text == "a < b & c" and user.last.text == "a < b & c"
    sent = server.calls("sendMessage")
    assert len(sent) == 2 and all(r.ok and r.outcome == "ok" for r in sent)


async def test_pressing_a_button_edits_and_answers(server, polling):
    user = server.user(USER_ID)
    await user.say("/start")
    greeting = user.last
    replies = await user.click("Press me")
    assert [m.message_id for m in replies] == [greeting.message_id]
    assert replies[0].text == "Pressed" and replies[0].html == "<i>Pressed</i>"
    assert replies[0].edited == 1 and replies[0].buttons == []  # an edit without markup drops it
    assert user.last.text == "Pressed" and len(user.bot_messages) == 1
    answer = user.callback_answers[-1]
    assert answer.text == "Pressed!" and answer.show_alert and answer.data == "press"

    with pytest.raises(AssertionError, match="no button 'Nope'"):
        await user.press("Nope")

    await user.say("/start")
    await user.click_data(user.last.message_id, "forged:" + "x" * 80)
    assert user.callback_answers[-1].text.startswith("data=forged:")


async def test_user_media_reach_the_bot_and_can_be_downloaded(server, polling, bot):
    user = server.user(USER_ID)
    replies = await user.say_photo("look")
    photo = user.messages[-2]
    assert photo.caption == "look" and len(photo.photo) == 3
    biggest = server.file(photo.photo[-1]["file_id"])
    assert replies[0].text == f"photo of {len(biggest.content)} bytes"

    file = await bot.get_file(photo.photo[0]["file_id"])
    assert (
        file.file_path
        and (await bot.download(file)).getvalue() == server.file(file.file_id).content
    )

    replies = await user.say_document("notes.csv", b"1,One\n", caption="districts")
    assert replies[0].text == "notes.csv: 1,One\n"
    assert user.messages[-2].document["mime_type"] == "text/csv"
    assert (await user.say_contact("+70000000001"))[0].text == "phone +70000000001"
    assert (await user.say_location(54.9, 37.4)) == []  # the echo bot ignores locations

    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nonsense")


async def test_the_bot_sends_files(server, bot):
    user = server.user(USER_ID)
    sent = await bot.send_document(
        USER_ID, BufferedInputFile(b"report", "report.txt"), caption="<b>Report</b>"
    )
    assert sent.document.file_name == "report.txt" and sent.caption == "Report"
    assert user.last.document["file_name"] == "report.txt" and user.last.caption == "Report"
    assert server.file(sent.document.file_id).content == b"report"
    again = await bot.send_document(USER_ID, sent.document.file_id)
    assert again.document.file_id == sent.document.file_id
    picture = await bot.send_photo(USER_ID, BufferedInputFile(b"\xff\xd8jpeg\xff\xd9", "p.jpg"))
    assert len(picture.photo) == 3 and user.last.photo is not None
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER_ID, picture.photo[0].file_id, caption="x" * 1025)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(USER_ID, "no-such-file")
    await bot.send_chat_action(USER_ID, "typing")
    assert user.chat_actions == ["typing"]


# --- Long polling --------------------------------------------------------------------------------


async def test_long_polling_waits_and_offsets_confirm(server, bot):
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9  # the request was held, not answered at once

    user = server.user(USER_ID)
    first, second = await user.send("one"), await user.send("two")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, second]
    assert updates[0].message.text == "one" and updates[0].message.chat.id == USER_ID
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first]
    assert not server.is_processed(first)

    remaining = await bot.get_updates(offset=first + 1)
    assert [u.update_id for u in remaining] == [second]
    await server.wait_processed(first, timeout=0.1)
    with pytest.raises(TimeoutError, match=f"update {second} was not processed"):
        await server.wait_processed(second, timeout=0.1)

    # A poll waiting for updates is answered as soon as one arrives.
    waiting = asyncio.create_task(bot.get_updates(offset=second + 1, timeout=5))
    await asyncio.sleep(0.1)
    third = await user.send("/help@assembly_sandbox_bot now")
    updates = await waiting
    assert [u.update_id for u in updates] == [third]
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[0].message.entities[0].length == len("/help@assembly_sandbox_bot")
    assert server.is_processed(second)

    # Updates of types the bot did not ask for are never delivered.
    await bot.get_updates(offset=third + 1, allowed_updates=["callback_query"])
    ignored = await user.send("ignored")
    assert server.is_processed(ignored)


async def test_a_restarted_poller_gets_unconfirmed_updates_again(server, bot):
    user = server.user(USER_ID)
    update_id = await user.send("again")
    assert [u.update_id for u in await bot.get_updates()] == [update_id]
    assert [u.update_id for u in await bot.get_updates()] == [update_id]
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == []
    assert server.is_processed(update_id)


# --- What Telegram rejects -----------------------------------------------------------------------


class UnknownMethod(TelegramMethod[bool]):
    __returning__: ClassVar[type] = bool
    __api_method__: ClassVar[str] = "sendTelepathy"


async def test_unknown_methods_and_parameters(server, bot):
    server.user(USER_ID)
    with pytest.raises(TelegramNotFound, match="Not Found"):
        await bot(UnknownMethod())
    with pytest.raises(TelegramBadRequest, match="unknown parameter colour"):
        await bot(SendMessage(chat_id=USER_ID, text="hi", colour="red"))
    status, body = await raw_call(server, "sendMessage", text="no chat")
    assert status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: parameter chat_id is required",
    }
    status, body = await raw_call(server, "SENDMESSAGE", chat_id=USER_ID, text="any case")
    assert status == 200 and body["result"]["text"] == "any case"
    status, body = await raw_call(server, "getStarTransactions")
    assert status == 400 and "not implemented by the fake server" in body["description"]
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "nobody")
    assert [r.outcome for r in server.calls("sendMessage")] == [400, 400, "ok", 400]


async def test_text_length_is_counted_after_parsing_entities(server, bot):
    server.user(USER_ID)
    sent = await bot.send_message(USER_ID, "<b>" + "x" * 4096 + "</b>")
    assert len(sent.text) == 4096
    await bot.send_message(USER_ID, "&lt;" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER_ID, "<b>" + "x" * 4097 + "</b>")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER_ID, "")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER_ID, "<b> </b>")


async def test_lengths_are_counted_in_utf16_code_units(server, bot):
    """An emoji outside the BMP is two UTF-16 code units, as Telegram counts; Cyrillic is one."""
    server.user(USER_ID)
    await bot.send_message(USER_ID, "я" * 4096)
    await bot.send_message(USER_ID, "x" * 4094 + "🙂")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER_ID, "x" * 4095 + "🙂")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER_ID, "🙂" * 2049)
    picture = await bot.send_photo(USER_ID, BufferedInputFile(b"\xff\xd8jpeg\xff\xd9", "p.jpg"))
    await bot.send_photo(USER_ID, picture.photo[0].file_id, caption="🙂" * 512)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER_ID, picture.photo[0].file_id, caption="🙂" * 513)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a < b", 'Unsupported start tag ""'),
        ("<blink>hi</blink>", 'Unsupported start tag "blink"'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
        ("fish & chips", 'Unescaped "&"'),
        ("&nbsp;", "Unsupported HTML entity"),
        ('<span class="red">x</span>', "tg-spoiler"),
    ],
)
async def test_malformed_html_is_refused(server, bot, text, error):
    server.user(USER_ID)
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as refused:
        await bot.send_message(USER_ID, text)
    assert error in refused.value.message


async def test_good_html_becomes_entities(server, bot):
    server.user(USER_ID)
    text = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><del>d</del>"
        '<span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler><a href="https://x.org/?a=1&amp;b">'
        'l</a><code>c</code><pre><code class="language-py">x = 1</code></pre>'
        "<blockquote expandable>q</blockquote> &quot;&#65;&#x42;&gt; 😀<b>!</b>"
    )
    sent = await bot.send_message(USER_ID, text)
    assert sent.text == 'bsieunsdpqlcx = 1q "AB> 😀!'
    types = [e.type for e in sent.entities]
    assert types[:4] == ["bold", "bold", "italic", "italic"]
    assert "expandable_blockquote" in types and "spoiler" in types
    link = next(e for e in sent.entities if e.type == "text_link")
    assert link.url == "https://x.org/?a=1&b"
    pre = next(e for e in sent.entities if e.type == "pre")
    assert pre.language == "py" and pre.length == 5
    assert sent.entities[-1].offset == len('bsieunsdpqlcx = 1q "AB> ') + 2  # the emoji is 2 units
    assert sent.html_text.endswith("<b>!</b>")
    assert parse_html("plain") == ("plain", [])


async def test_callback_data_is_limited_to_64_bytes(server, bot):
    server.user(USER_ID)
    await bot.send_message(USER_ID, "ok", reply_markup=keyboard([("Да", "я" * 32)]))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER_ID, "33 letters", reply_markup=keyboard([("Нет", "я" * 33)]))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER_ID, "empty", reply_markup=keyboard([("Нет", "")]))
    nothing = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="inert")]])
    with pytest.raises(TelegramBadRequest, match="can't parse inline keyboard button"):
        await bot.send_message(USER_ID, "inert", reply_markup=nothing)


async def test_edits_and_deletes_follow_telegram_rules(server, bot):
    user = server.user(USER_ID)
    sent = await bot.send_message(USER_ID, "Status: 1", reply_markup=keyboard([("Go", "go")]))
    edited = await bot.edit_message_text(
        "Status: <b>2</b>",
        chat_id=USER_ID,
        message_id=sent.message_id,
        reply_markup=keyboard([("Go", "go")]),
    )
    assert edited.text == "Status: 2" and edited.edit_date is not None
    assert user.last.text == "Status: 2" and user.last.html == "Status: <b>2</b>"
    assert user.last.edited == 1 and user.button_texts() == ["Go"]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Status: <b>2</b>",
            chat_id=USER_ID,
            message_id=sent.message_id,
            reply_markup=keyboard([("Go", "go")]),
        )
    await bot.edit_message_reply_markup(chat_id=USER_ID, message_id=sent.message_id)
    assert user.button_texts() == [] and user.last.edited == 2
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=USER_ID, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER_ID, message_id=999)
    with pytest.raises(TelegramBadRequest, match="there is no caption"):
        await bot.edit_message_caption(chat_id=USER_ID, message_id=sent.message_id, caption="c")

    await user.send("mine")
    reply = await bot.send_message(
        USER_ID, "re", reply_parameters=ReplyParameters(message_id=user.messages[-1].message_id)
    )
    assert reply.reply_to_message.text == "mine"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(USER_ID, "re", reply_parameters=ReplyParameters(message_id=999))
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER_ID, message_id=user.messages[-2].message_id)
    assert await bot.delete_message(USER_ID, sent.message_id)
    assert user.messages[0].deleted and user.last.text == "re"
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER_ID, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER_ID, message_id=sent.message_id)


async def test_callback_queries_are_answered_once(server, bot):
    user = server.user(USER_ID)
    await bot.send_message(USER_ID, "Pick", reply_markup=keyboard([("A", "a"), ("B", "b")]))
    await user.press("B")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query.data == "b" and query.message.text == "Pick" and query.chat_instance
    assert await bot.answer_callback_query(query.id, text="Got B")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("12345")
    assert [a.text for a in user.callback_answers] == ["Got B"]


# --- Faults --------------------------------------------------------------------------------------


async def test_injected_faults(server, bot):
    server.user(USER_ID)
    server.inject_fault("sendMessage", status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(USER_ID, "too fast")
    assert flood.value.retry_after == 3
    await bot.send_message(USER_ID, "fine again")

    server.inject_fault("sendMessage", status=500, times=2, chat_id=USER_ID)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(USER_ID, "down")
    await bot.send_message(USER_ID, "up")

    server.inject_fault("sendmessage", status=None, delay=0.3)
    started = time.monotonic()
    await bot.send_message(USER_ID, "slow")
    assert time.monotonic() - started >= 0.25

    server.block_bot(USER_ID)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "hello?")
    await bot.get_me()  # other methods still work
    server.unblock_bot(USER_ID)
    await bot.send_message(USER_ID, "welcome back")

    server.inject_fault(None, status=403, times=None)
    with pytest.raises(TelegramForbiddenError):
        await bot.get_me()
    server.clear_faults()
    me = await bot.get_me()
    assert me.id == 123456 and me.username == "assembly_sandbox_bot" and me.is_bot

    outcomes = [r.outcome for r in server.calls("sendMessage")]
    assert outcomes == [429, "ok", 500, 500, "ok", "ok", 403, "ok"]
    assert all(
        r.time <= later.time for r, later in zip(server.requests, server.requests[1:], strict=False)
    )


# --- Commands, chats, webhooks -------------------------------------------------------------------


async def test_commands_are_stored_per_scope_and_language(server, bot):
    user = server.user(USER_ID)
    await bot.set_my_commands([BotCommand(command="start", description="начать")])
    await bot.set_my_commands(
        [BotCommand(command="start", description="start")], language_code="en"
    )
    await bot.set_my_commands(
        [BotCommand(command="admin", description="admin things")],
        scope=BotCommandScopeChat(chat_id=USER_ID),
    )
    assert server.commands() == [{"command": "start", "description": "начать"}]
    assert server.commands(language_code="en")[0]["description"] == "start"
    assert server.commands("chat", chat_id=USER_ID)[0]["command"] == "admin"
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=USER_ID))
    assert server.commands("chat", chat_id=USER_ID) == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])

    chat = await bot.get_chat(USER_ID)
    assert chat.type == "private" and chat.first_name == user.first_name
    assert await bot.set_chat_menu_button(chat_id=USER_ID)
    assert server.menu_button(USER_ID) == {"type": "default"}


async def test_webhook_delivery_with_secret(server, bot):
    received: list[tuple[dict, str | None]] = []

    async def receive(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((update, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if update["message"]["text"] == "reply inline":
            # A webhook may answer with a method call, which Telegram then performs.
            chat_id = update["message"]["chat"]["id"]
            return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "ok"})
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        user = server.user(USER_ID)
        queued = await user.send("sent before the webhook")
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret-token")
        await server.wait_processed(queued, timeout=3)
        replies = await user.say("reply inline")
        assert [m.text for m in replies] == ["ok"]
        texts = [(u["message"]["text"], secret) for u, secret in received]
        assert texts == [
            ("sent before the webhook", "s3cret-token"),
            ("reply inline", "s3cret-token"),
        ]

        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        await user.send("polled again")
        assert [u.message.text for u in await bot.get_updates()] == ["polled again"]
    finally:
        await runner.cleanup()


# --- The console ---------------------------------------------------------------------------------


async def test_console_chats_with_scripted_lines(server, polling, tmp_path):
    (tmp_path / "data.txt").write_text("hello file")
    script = iter(
        [
            "/start",
            ":press Другая",
            "",
            ":press 1",
            ":press 9",
            ":user 7002 Bob",
            "hi from Bob",
            ":users",
            f":doc {tmp_path / 'data.txt'}",
            ":contact +7999",
            ":photo",
            ":history",
            ":bogus",
            ":help",
        ]
    )
    prompts: list[str] = []
    output: list[str] = []

    async def read_line(prompt: str) -> str | None:
        prompts.append(prompt)
        return next(script, None)

    await run_console(server, read_line=read_line, write=output.append, first_user_id=7001)
    text = "\n".join(output)
    assert "bot → Test (7001): Hello, Test!\n    [1] Press me  [2] Другая" in text
    assert "bot → Test (7001): (edited message 2) Pressed" in text
    assert "bot → Test (7001) (alert): Pressed!" in text
    assert "bot → Test (7001) (notice): data=other" in text
    assert "no buttons to press" in text
    assert "You are now Bob (7002)." in text
    assert "bot → Bob (7002): hi from Bob" in text
    assert "* Bob (7002)" in text and "  Test (7001)" in text
    assert "bot → Bob (7002): data.txt: hello file" in text
    assert "bot → Bob (7002): phone +7999" in text
    assert "Bob: [photo]" in text
    assert "Unknown command :bogus" in text and ":press N" in text
    assert prompts[0] == "7001> " and prompts[-1] == "7002> "
    assert [a.text for a in server.user(7001).callback_answers] == ["data=other", "Pressed!"]


async def test_console_ends_on_quit(server):
    lines = iter([":quit", "never read"])

    async def read_line(_prompt: str) -> str | None:
        return next(lines)

    await run_console(server, read_line=read_line, write=lambda _line: None)
    assert next(lines) == "never read"
