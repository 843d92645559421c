"""The Bot API methods of the fake server, checked as Telegram checks them: getUpdates and the
webhook settings, commands, sending, editing and deleting messages, callback answers, files."""

from __future__ import annotations

import asyncio
import copy
import mimetypes
import re
import time
from typing import Any

from bot.fake_telegram.chats import Chats, FakeChat
from bot.fake_telegram.types import (
    CallbackAnswer,
    ChatMessage,
    Handler,
    Webhook,
    as_int,
    document_json,
    scope_key,
    strip_nones,
)
from bot.fake_telegram.validation import (
    ApiError,
    UploadedFile,
    bad_request,
    check_caption,
    check_reply_markup,
    check_text,
    render_text,
    utf16_len,
)

MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_CALLBACK_ANSWER = 200

_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class BotApi(Chats):
    """The methods the bot calls, by their Bot API names."""

    def __init__(self) -> None:
        super().__init__()
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendLocation": self._send_location,
            "sendMediaGroup": self._send_media_group,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "close": self._true,
            "logOut": self._true,
        }

    async def _true(self, _token: str, _params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, _token: str, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, _token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        # A newer getUpdates ends an older one, as when two copies of a bot run at once.
        self._poll_generation += 1
        generation = self._poll_generation
        self._arrived.fire()

        offset = params.get("offset")
        self._last_poll = (time.monotonic(), offset)
        if offset is not None:
            if offset < 0:
                keep = -offset
                if len(self._updates) > keep:
                    self._confirm(self._updates[-keep]["update_id"])
            else:
                self._confirm(offset)
        self._set_allowed(params.get("allowed_updates"))
        limit = min(max(params.get("limit") or 100, 1), 100)
        timeout = max(params.get("timeout") or 0, 0)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            if self._updates:
                return copy.deepcopy(self._updates[:limit])
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing or self._webhook is not None:
                return []
            await self._arrived.wait(remaining)

    async def _set_webhook(self, token: str, params: dict[str, Any]) -> bool:
        url = params["url"]
        if not url:
            return await self._delete_webhook(token, params)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self._set_allowed(params.get("allowed_updates"))
        self._webhook = Webhook(url, token, secret, params.get("max_connections") or 40)
        self._arrived.fire()
        return True

    async def _delete_webhook(self, _token: str, params: dict[str, Any]) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    async def _get_webhook_info(self, _token: str, _params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook.url if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook.max_connections
            info["allowed_updates"] = sorted(self._allowed)
            if self._webhook.last_error_date is not None:
                info["last_error_date"] = self._webhook.last_error_date
                info["last_error_message"] = self._webhook.last_error_message
        return info

    async def _set_my_commands(self, _token: str, params: dict[str, Any]) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not _BOT_COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, _token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, _token: str, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return scope_key(scope), params.get("language_code") or ""

    async def _send_message(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        text, entities = render_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        check_text(text)
        markup = self._take_markup(user, params.get("reply_markup"))
        msg = self._new_message(
            user.id,
            from_bot=True,
            text=text,
            html=params["text"],
            entities=entities,
            reply_markup=markup,
            reply_to_message_id=self._reply_to(user, params),
        )
        return self.message_json(msg)

    async def _send_photo(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        photo = params["photo"]
        if isinstance(photo, UploadedFile):
            sizes = self.photo_sizes(photo.content)
        else:
            sizes = [dict(self._sent_file(photo, "photo"), width=800, height=600)]
        content = self._caption_content(params)
        markup = self._take_markup(user, params.get("reply_markup"))
        reply_to = self._reply_to(user, params)
        msg = self._new_message(
            user.id,
            from_bot=True,
            photo=sizes,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            **content,
        )
        return self.message_json(msg)

    async def _send_document(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        document = params["document"]
        if isinstance(document, UploadedFile):
            mime = (
                mimetypes.guess_type(document.filename)[0]
                or document.content_type
                or "application/octet-stream"
            )
            stored = self.store_file(document.content, "documents", document.filename, mime)
            info = document_json(stored)
        else:
            info = self._sent_file(document, "document")
        content = self._caption_content(params)
        markup = self._take_markup(user, params.get("reply_markup"))
        reply_to = self._reply_to(user, params)
        msg = self._new_message(
            user.id,
            from_bot=True,
            document=info,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            **content,
        )
        return self.message_json(msg)

    async def _send_location(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        try:
            latitude, longitude = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude specified") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong latitude or longitude specified")
        markup = self._take_markup(user, params.get("reply_markup"))
        msg = self._new_message(
            user.id,
            from_bot=True,
            location={"latitude": latitude, "longitude": longitude},
            reply_markup=markup,
            reply_to_message_id=self._reply_to(user, params),
        )
        return self.message_json(msg)

    async def _send_media_group(self, _token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """An album of photos sent by file_id (what the bot sends again): one message each."""
        user = self._chat(params["chat_id"])
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the album: from 2 to 10 are allowed")
        reply_to = self._reply_to(user, params)
        sent = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") != "photo":
                raise bad_request(
                    "method not implemented by the fake server: albums of photos only"
                )
            if isinstance(item.get("media"), UploadedFile):
                raise bad_request("method not implemented by the fake server: uploaded albums")
            sizes = [dict(self._sent_file(item.get("media"), "photo"), width=800, height=600)]
            content = self._caption_content(item)
            sent.append((sizes, content))
        messages = [
            self._new_message(
                user.id, from_bot=True, photo=sizes, reply_to_message_id=reply_to, **content
            )
            for sizes, content in sent
        ]
        return [self.message_json(msg) for msg in messages]

    def _reply_to(self, user: FakeChat, params: dict[str, Any]) -> int | None:
        """The message a new one replies to; Telegram refuses a missing one unless allowed."""
        reply = params.get("reply_parameters") or {}
        if as_int(reply.get("chat_id", user.id)) != user.id:
            return None
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        if any(m.message_id == message_id and not m.deleted for m in self.chat(user.id)):
            return message_id
        allowed = reply.get(
            "allow_sending_without_reply", params.get("allow_sending_without_reply")
        )
        if allowed:
            return None
        raise bad_request("message to be replied not found")

    def _sent_file(self, reference: Any, kind: str) -> dict[str, Any]:
        """A file sent by file_id (or by URL, which the fake cannot fetch: it stores nothing)."""
        reference = str(reference)
        if reference.startswith(("http://", "https://")):
            stored = self.store_file(b"", f"{kind}s", reference.rsplit("/", 1)[-1] or None, None)
        elif reference in self._files:
            stored = self._files[reference]
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if kind == "document":
            return document_json(stored)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }

    def _caption_content(self, params: dict[str, Any]) -> dict[str, Any]:
        source = params.get("caption")
        if source is None:
            return {}
        text, entities = render_text(
            source, params.get("parse_mode"), params.get("caption_entities")
        )
        check_caption(text)
        return {"text": text, "html": source, "entities": entities}

    def _take_markup(self, user: FakeChat, markup: Any) -> dict[str, Any] | None:
        """Checks a reply_markup; keeps a reply keyboard on the user, returns an inline one."""
        check_reply_markup(markup)
        if not isinstance(markup, dict):
            return None
        if "inline_keyboard" in markup:
            return strip_nones(markup)
        if "keyboard" in markup:
            user.reply_keyboard = [
                [b if isinstance(b, str) else b.get("text", "") for b in row]
                for row in markup["keyboard"]
            ]
        elif markup.get("remove_keyboard"):
            user.reply_keyboard = None
        return None

    def _target(self, params: dict[str, Any], *, missing: str) -> ChatMessage:
        if params.get("inline_message_id") is not None:
            raise bad_request("method not implemented by the fake server: inline messages")
        if params.get("chat_id") is None:
            raise bad_request("chat_id is empty")
        user = self._chat(params["chat_id"])
        message_id = params.get("message_id")
        if message_id is None:
            raise bad_request("message_id is empty")
        for msg in self.chat(user.id):
            if msg.message_id == message_id and not msg.deleted:
                return msg
        raise bad_request(missing)

    def _editable(self, params: dict[str, Any]) -> ChatMessage:
        msg = self._target(params, missing="message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _apply_edit(self, msg: ChatMessage, **changes: Any) -> dict[str, Any]:
        current = {key: getattr(msg, key) for key in changes if key != "html"}
        if all(changes[key] == value for key, value in current.items()):
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edited += 1
        msg.edit_date = int(time.time())
        self._log(msg.chat_id, "edited", msg.message_id)
        return self.message_json(msg)

    async def _edit_message_text(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        msg = self._editable(params)
        if not msg.is_text:
            raise bad_request("there is no text in the message to edit")
        text, entities = render_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        check_text(text)
        user = self._chat(msg.chat_id)
        # Like Telegram: an edit without reply_markup takes the inline keyboard away.
        markup = self._take_markup(user, params.get("reply_markup"))
        return self._apply_edit(
            msg, text=text, entities=entities, reply_markup=markup, html=params["text"]
        )

    async def _edit_message_caption(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        msg = self._editable(params)
        if not msg.has_media:
            raise bad_request("there is no caption in the message to edit")
        content = self._caption_content(params) or {"text": "", "html": "", "entities": []}
        content.setdefault("entities", [])
        markup = self._take_markup(self._chat(msg.chat_id), params.get("reply_markup"))
        return self._apply_edit(msg, reply_markup=markup, **content)

    async def _edit_message_reply_markup(
        self, _token: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        msg = self._editable(params)
        markup = self._take_markup(self._chat(msg.chat_id), params.get("reply_markup"))
        return self._apply_edit(msg, reply_markup=markup)

    async def _delete_message(self, _token: str, params: dict[str, Any]) -> bool:
        msg = self._target(params, missing="message to delete not found")
        msg.deleted = True
        self._log(msg.chat_id, "deleted", msg.message_id)
        return True

    async def _answer_callback_query(self, _token: str, params: dict[str, Any]) -> bool:
        query = self._queries.get(str(params["callback_query_id"]))
        if query is None or query.answered:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            query_id=query.query_id,
            message_id=query.message_id,
            data=query.data,
            text=text,
            show_alert=bool(params.get("show_alert")),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        self._users[query.user_id].callback_answers.append(answer)
        self._log(query.user_id, "answer", query.message_id, answer)
        return True

    async def _send_chat_action(self, _token: str, params: dict[str, Any]) -> bool:
        user = self._chat(params["chat_id"])
        if params["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        user.chat_actions.append(params["action"])
        return True

    async def _get_file(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params["file_id"]))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    async def _get_chat(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        return {
            **user.chat_json(),
            "accent_color_id": user.id % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _set_chat_menu_button(self, _token: str, params: dict[str, Any]) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._chat(chat_id).id
        self._menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._chat(chat_id).id
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy.deepcopy(button or {"type": "commands"})
