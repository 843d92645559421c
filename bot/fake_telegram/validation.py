"""What the fake server rejects, and why: the method catalogue, parameter checks, Telegram's HTML
dialect and the length rules. Pure functions, so they are testable without a server."""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

import aiogram.methods
from aiogram.client.default import Default
from aiogram.methods.base import TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardButton
from pydantic import ValidationError

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64


class ApiError(Exception):
    """A failed Bot API call, rendered as Telegram renders it."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str | None = None


# --- The method catalogue ------------------------------------------------------------------------


def _method_classes() -> dict[str, type[TelegramMethod[Any]]]:
    found: dict[str, type[TelegramMethod[Any]]] = {}
    for value in vars(aiogram.methods).values():
        if (
            inspect.isclass(value)
            and issubclass(value, TelegramMethod)
            and value is not TelegramMethod
            and isinstance(getattr(value, "__api_method__", None), str)
        ):
            found[value.__api_method__.lower()] = value
    return found


# Keyed by the lower-cased name because Telegram matches method names case-insensitively.
METHODS: dict[str, type[TelegramMethod[Any]]] = _method_classes()


def find_method(name: str) -> type[TelegramMethod[Any]] | None:
    return METHODS.get(name.lower())


# --- Parameters ----------------------------------------------------------------------------------


def _is_string_only(annotation: Any) -> bool:
    """True for fields Telegram reads as plain strings, whose form values must not be JSON-decoded
    (a text "123" stays a string, while chat_id "123" becomes a number)."""
    if annotation is str:
        return True
    if typing.get_origin(annotation) is typing.Literal:
        return all(isinstance(arg, str) for arg in typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a not in (type(None), Default)]
        return bool(args) and all(_is_string_only(a) for a in args)
    return False


def _flatten(annotation: Any) -> set[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return {a for arg in typing.get_args(annotation) for a in _flatten(arg)}
    return {annotation}


def decode_form_value(method: type[TelegramMethod[Any]], name: str, value: str) -> Any:
    """A form value as the client meant it: aiogram sends strings raw and all else as JSON."""
    field = method.model_fields.get(name)
    if field is not None and _is_string_only(field.annotation):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if field is not None and isinstance(decoded, int | float | None):
        # A file_id such as "123" in a `str | InputFile` field is a string, not a number.
        accepted = _flatten(field.annotation)
        if str in accepted and not accepted & {int, float, bool}:
            return value
    return decoded


def check_params(method: type[TelegramMethod[Any]], params: dict[str, Any]) -> None:
    """Unknown, missing and mistyped parameters, checked against aiogram's model of the method."""
    fields = method.model_fields
    for name in params:
        if name not in fields:
            raise bad_request(f"unknown parameter {name}")
    for name, field in fields.items():
        if field.is_required() and params.get(name) is None:
            if name in ("text", "caption"):
                raise bad_request(f"message {name} is empty")
            raise bad_request(f"parameter {name} is required")
    # Uploaded parts stand in for aiogram's InputFile so that its own model can check the rest.
    candidate = {
        key: BufferedInputFile(v.content, v.filename) if isinstance(v, UploadedFile) else v
        for key, v in params.items()
    }
    try:
        method.model_validate(candidate)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"][:2])
        raise bad_request(f"wrong parameter {where}: {error['msg']}") from exc


# --- Telegram's HTML -----------------------------------------------------------------------------


class EntityParseError(ValueError):
    pass


_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_ALL_TAGS = {*_SIMPLE_TAGS, "span", "a", "blockquote", "tg-emoji"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]*);")


def utf16_len(text: str) -> int:
    """Entity offsets are counted in UTF-16 code units, as in the Bot API."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, index: int) -> tuple[str, int]:
    """The character an `&...;` at `index` stands for, and where the text continues."""
    match = _ENTITY.match(source, index)
    where = _byte_offset(source, index)
    if match is None:
        raise EntityParseError(f'Unescaped "&" at byte offset {where}')
    body = match.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(f'Invalid character entity "&{body};" at byte offset {where}')
        return chr(code), match.end()
    if body not in _NAMED_ENTITIES:
        raise EntityParseError(f'Unsupported HTML entity "&{body};" at byte offset {where}')
    return _NAMED_ENTITIES[body], match.end()


def _parse_attributes(source: str, index: int, tag_start: int) -> tuple[dict[str, str], int]:
    """Attributes up to the closing `>`; returns them and the index after `>`."""
    attributes: dict[str, str] = {}
    length = len(source)
    while True:
        while index < length and source[index].isspace():
            index += 1
        if index >= length:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, tag_start)}"
            )
        if source[index] == ">":
            return attributes, index + 1
        name_match = _ATTR_NAME.match(source, index)
        if name_match is None:
            raise EntityParseError(
                f"Expected equal sign in declaration of an attribute of the tag at byte offset "
                f"{_byte_offset(source, tag_start)}"
            )
        name = name_match.group(0).lower()
        index = name_match.end()
        while index < length and source[index].isspace():
            index += 1
        if index < length and source[index] == "=":
            index += 1
            while index < length and source[index].isspace():
                index += 1
            value, index = _parse_attribute_value(source, index, tag_start)
        else:
            value = ""
        attributes[name] = value


def _parse_attribute_value(source: str, index: int, tag_start: int) -> tuple[str, int]:
    length = len(source)
    if index < length and source[index] in "\"'":
        quote = source[index]
        index += 1
        parts: list[str] = []
        while index < length and source[index] != quote:
            if source[index] == "&" and _ENTITY.match(source, index):
                char, index = _decode_entity(source, index)
                parts.append(char)
            else:
                # Telegram keeps a stray "&" in an attribute; URLs often have one (aiogram's
                # hlink does not escape them), so only the text is held to the strict rule.
                parts.append(source[index])
                index += 1
        if index >= length:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, tag_start)}"
            )
        return "".join(parts), index + 1
    start = index
    while index < length and not source[index].isspace() and source[index] != ">":
        if source[index] in "\"'<=`":
            raise EntityParseError(
                f"Unexpected character in an attribute value at byte offset "
                f"{_byte_offset(source, index)}"
            )
        index += 1
    return source[start:index], index


@dataclass
class _OpenTag:
    name: str
    offset: int  # in UTF-16 units of the output
    attributes: dict[str, str]
    language: str | None = None


def _entity_for(tag: _OpenTag, end: int) -> dict[str, Any] | None:
    length = end - tag.offset
    if length <= 0:
        return None
    entity: dict[str, Any] = {"offset": tag.offset, "length": length}
    name = tag.name
    if name == "a":
        href = tag.attributes.get("href")
        if not href:
            return None
        entity.update(type="text_link", url=href)
    elif name == "span":
        entity["type"] = "spoiler"
    elif name == "blockquote":
        expandable = "expandable" in tag.attributes
        entity["type"] = "expandable_blockquote" if expandable else "blockquote"
    elif name == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=tag.attributes["emoji-id"])
    else:
        entity["type"] = _SIMPLE_TAGS[name]
        if name == "pre" and tag.language:
            entity["language"] = tag.language
    return entity


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Text and entities from Telegram-flavoured HTML; EntityParseError where Telegram refuses."""
    output: list[str] = []
    position = 0  # UTF-16 units emitted so far
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    index = 0
    length = len(source)

    def emit(chunk: str) -> None:
        nonlocal position
        output.append(chunk)
        position += utf16_len(chunk)

    while index < length:
        char = source[index]
        if char == "&":
            decoded, index = _decode_entity(source, index)
            emit(decoded)
            continue
        if char != "<":
            stop = index + 1
            while stop < length and source[stop] not in "<&":
                stop += 1
            emit(source[index:stop])
            index = stop
            continue

        tag_start = index
        where = _byte_offset(source, tag_start)
        if source.startswith("</", index):
            name_match = _TAG_NAME.match(source, index + 2)
            if name_match is None:
                raise EntityParseError(f"Unexpected end tag at byte offset {where}")
            name = name_match.group(0).lower()
            index = name_match.end()
            while index < length and source[index].isspace():
                index += 1
            if index >= length or source[index] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {where}")
            index += 1
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {where}")
            top = stack[-1]
            if top.name != name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {where}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            stack.pop()
            if name == "code" and stack and stack[-1].name == "pre":
                # <pre><code class="language-x"> is one pre entity with a language.
                language = top.attributes.get("class", "")
                if language.startswith("language-"):
                    stack[-1].language = language.removeprefix("language-")
                continue
            entity = _entity_for(top, position)
            if entity is not None:
                entities.append(entity)
            continue

        name_match = _TAG_NAME.match(source, index + 1)
        if name_match is None:
            raise EntityParseError(f'Unsupported start tag "" at byte offset {where}')
        name = name_match.group(0).lower()
        if name not in _ALL_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {where}')
        index = name_match.end()
        if index < length and not source[index].isspace() and source[index] != ">":
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {where}')
        attributes, index = _parse_attributes(source, index, tag_start)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {where}'
            )
        if name == "tg-emoji" and not attributes.get("emoji-id"):
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {where}'
            )
        stack.append(_OpenTag(name, position, attributes))

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(output), entities


# --- Message content -----------------------------------------------------------------------------


def render_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]]]:
    """What the user will see: plain text and its entities."""
    if entities:
        return text, [dict(e) for e in entities]
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            return parse_html(text)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
    if mode in ("", "none", "markdown", "markdownv2"):
        # Markdown is not interpreted by the fake: the markup shows up in the text.
        return text, []
    raise bad_request("unsupported parse_mode")


def check_text(text: str) -> None:
    if not text.strip():
        raise bad_request("message text is empty")
    # Telegram counts UTF-16 code units: an emoji outside the BMP takes two.
    if utf16_len(text) > MAX_TEXT:
        raise bad_request("message is too long")


def check_caption(caption: str) -> None:
    if utf16_len(caption) > MAX_CAPTION:
        raise bad_request("message caption is too long")


_BUTTON_ACTIONS = tuple(
    name
    for name in InlineKeyboardButton.model_fields
    if name not in ("text", "icon_custom_emoji_id", "style")
)
_URL_SCHEMES = ("http://", "https://", "tg://")


def check_reply_markup(markup: Any) -> None:
    """Inline keyboards as Telegram checks them; other keyboards only for shape."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            check_inline_button(button)


def check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a String")
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            f"can't parse inline keyboard button: more than one action: {', '.join(actions)}"
        )
    if "callback_data" in actions:
        data = button["callback_data"]
        size = len(str(data).encode("utf-8"))
        if not isinstance(data, str) or size == 0 or size > MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions and not str(button["url"]).startswith(_URL_SCHEMES):
        raise bad_request("BUTTON_URL_INVALID")
