"""The fake Telegram Bot API server for the real aiogram `Bot`: the HTTP layer (routing, file
downloads, the request log), webhook delivery and injected faults.

The bot talks HTTP to it exactly as to api.telegram.org; tests (and the sandbox console) play
users, press buttons and read each chat as the person would see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any, Self

import aiohttp
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods.base import TelegramMethod
from aiohttp import web
from aiohttp.web_request import FileField

from bot.fake_telegram.methods import BotApi
from bot.fake_telegram.types import (
    ConnectionDropped,
    Fault,
    RecordedRequest,
    Webhook,
    as_int,
    update_person,
)
from bot.fake_telegram.validation import (
    ApiError,
    UploadedFile,
    bad_request,
    check_params,
    decode_form_value,
    find_method,
)

logger = logging.getLogger(__name__)

MAX_UPLOAD = 50 * 1024 * 1024
CONNECTION_FAILED = "Connection failed"
# Seconds a replica that refused a connection is passed over by the load balancer.
DOWN_FOR = 1.0

_TOKEN = re.compile(r"(\d+):[A-Za-z0-9_-]+")
# Methods that reach a person's chat, so a blocked bot is refused.
_SENDING_PREFIXES = ("send", "edit", "copy", "forward")


class FakeTelegram(BotApi):
    """The Bot API over HTTP on 127.0.0.1, with users, chats, faults and a request log."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self.requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._blocked: set[int] = set()
        self._revoked = False
        # Replicas behind a load balancer (balance_across), and whose turn it is.
        self._targets: list[str] = []
        self._turn = -1
        self._down_until: dict[str, float] = {}

    # Lifecycle.

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        # Cancelling handlers whose client went away ends long polls of a stopped bot at once.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._closing = False
        self._webhook_task = asyncio.create_task(self._deliver_to_webhook())

    async def stop(self) -> None:
        self._closing = True
        self._arrived.fire()
        self._progress.fire()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError("the fake Telegram server is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api(self) -> TelegramAPIServer:
        return TelegramAPIServer.from_base(self.url)

    # The request log.

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests of one method (any letter case), oldest first."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    # Faults.

    def inject_fault(
        self,
        method: str | None = "sendMessage",
        *,
        status: int | None = 429,
        retry_after: int = 1,
        times: int | None = 1,
        chat_id: int | str | None = None,
        delay: float = 0.0,
        description: str | None = None,
        drop: bool = False,
        after: bool = False,
    ) -> Fault:
        """The next `times` matching requests (None: all until cleared; method None: any method)
        wait `delay` seconds and then fail with `status` (a 5xx is Telegram failing on its
        side), or are served normally if it is None. `drop`: the connection is closed with no
        answer at all, as in a network outage. `after`: the method runs first (the message is
        delivered) and then the answer is lost or replaced by the failure."""
        fault = Fault(
            method, status, retry_after, times, chat_id, delay, description, drop=drop, after=after
        )
        self._faults.append(fault)
        return fault

    def revoke_token(self) -> None:
        """Every request is refused with 401, as after the token was revoked in @BotFather."""
        self._revoked = True

    def restore_token(self) -> None:
        self._revoked = False

    def block_bot(self, user_id: int) -> None:
        self._blocked.add(user_id)

    def unblock_bot(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    def clear_faults(self) -> None:
        self._faults.clear()
        self._blocked.clear()

    # HTTP.

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        name = request.match_info["method"]
        try:
            raw, typed = await _read_request(request)
        except ValueError as exc:
            raw, typed = {}, True
            error: ApiError | None = bad_request(str(exc))
        else:
            error = None
        try:
            status, payload = await self._call(token, name, raw, typed=typed, error=error)
        except ConnectionDropped:
            # No answer at all: the client sees the connection break.
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=502)  # never written: the connection is gone
        return web.json_response(payload, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if not _TOKEN.fullmatch(request.match_info["token"]):
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self._file_paths.get(request.match_info["file_path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _call(
        self,
        token: str,
        name: str,
        raw: dict[str, Any],
        *,
        typed: bool,
        error: ApiError | None = None,
    ) -> tuple[int, dict[str, Any]]:
        method = find_method(name)
        record = RecordedRequest(
            method=method.__api_method__ if method else name,
            params=dict(raw),
            time=time.monotonic(),
            token=token,
        )
        self.requests.append(record)
        try:
            if error is not None:
                raise error
            token_match = _TOKEN.fullmatch(token)
            if token_match is None or self._revoked:
                raise ApiError(401, "Unauthorized")
            self._bot_id = int(token_match[1])
            if method is None:
                raise ApiError(404, "Not Found")
            params = _decode_params(method, raw, typed=typed)
            record.params = params
            result = await self._execute(token, method, params)
        except ApiError as exc:
            record.status, record.description = exc.status, exc.description
            if isinstance(exc, ConnectionDropped):
                raise
            return exc.status, exc.payload()
        record.status, record.result = 200, result
        return 200, {"ok": True, "result": result}

    async def _execute(
        self, token: str, method: type[TelegramMethod[Any]], params: dict[str, Any]
    ) -> Any:
        name = method.__api_method__
        for fault in list(self._faults):
            if fault.matches(name, params):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                if fault.after:
                    result = await self._serve(token, method, params)
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if (failure := fault.error()) is not None:
                    raise failure
                if fault.after:
                    return result
                break
        return await self._serve(token, method, params)

    async def _serve(
        self, token: str, method: type[TelegramMethod[Any]], params: dict[str, Any]
    ) -> Any:
        name = method.__api_method__
        check_params(method, params)
        if name.lower().startswith(_SENDING_PREFIXES) and as_int(params.get("chat_id")) in (
            self._blocked
        ):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        handler = self._handlers.get(name)
        if handler is None:
            raise bad_request(f"method not implemented by the fake server: {name}")
        return await handler(token, params)

    # Webhook delivery.

    def balance_across(self, urls: list[str]) -> None:
        """Post webhook updates to these URLs in turn instead of the one the bot set, as a load
        balancer in front of several replicas would (an empty list: the bot's own URL again)."""
        self._targets = list(urls)
        self._arrived.fire()

    def _next_target(self, hook: Webhook) -> str:
        """The next replica in turn, passing over those that refused a connection in the last
        second (a load balancer's passive health check); all of them when all did."""
        if not self._targets:
            return hook.url
        now = time.monotonic()
        for _ in range(len(self._targets)):
            self._turn = (self._turn + 1) % len(self._targets)
            target = self._targets[self._turn]
            if self._down_until.get(target, 0.0) <= now:
                return target
        return self._targets[self._turn]

    async def _deliver_to_webhook(self) -> None:
        """Like Telegram: up to the webhook's max_connections updates in flight, but one person's
        next update only once their previous one was answered with 200. An update that fails
        (refused, 5xx, no answer) stays queued and is sent again, after a backoff, to the next
        replica in turn: nothing is lost while some replica is up."""
        in_flight: dict[int, asyncio.Task[None]] = {}  # update_id -> its delivery
        busy: set[int] = set()  # people with an update in flight
        retry_at: dict[int, float] = {}  # update_id -> not before (monotonic)
        failures: dict[int, int] = {}
        async with aiohttp.ClientSession() as http:

            async def deliver(hook: Webhook, update: dict[str, Any], person: int) -> None:
                update_id = update["update_id"]
                target = self._next_target(hook)
                try:
                    error = await self._post_update(http, hook, update, target)
                    if error is not None and error.startswith(CONNECTION_FAILED):
                        self._down_until[target] = time.monotonic() + DOWN_FOR
                finally:
                    busy.discard(person)
                    in_flight.pop(update_id, None)
                if error is None:
                    failures.pop(update_id, None)
                    retry_at.pop(update_id, None)
                    self._updates = [u for u in self._updates if u is not update]
                    self._mark_done([update_id])
                else:
                    hook.last_error_date = int(time.time())
                    hook.last_error_message = error
                    failures[update_id] = failures.get(update_id, 0) + 1
                    retry_at[update_id] = time.monotonic() + min(
                        0.05 * 2 ** failures[update_id], 2.0
                    )
                self._arrived.fire()

            try:
                await self._schedule_deliveries(deliver, in_flight, busy, retry_at)
            finally:
                for task in in_flight.values():
                    task.cancel()
                await asyncio.gather(*in_flight.values(), return_exceptions=True)

    async def _schedule_deliveries(
        self,
        deliver: Callable[[Webhook, dict[str, Any], int], Coroutine[Any, Any, None]],
        in_flight: dict[int, asyncio.Task[None]],
        busy: set[int],
        retry_at: dict[int, float],
    ) -> None:
        while True:
            hook = self._webhook
            wait: float | None = None
            if hook is not None:
                now = time.monotonic()
                blocked: set[int] = set()  # a person's later updates wait for the earlier
                for update in list(self._updates):
                    if len(in_flight) >= hook.max_connections:
                        break
                    person = update_person(update)
                    update_id = update["update_id"]
                    if update_id in in_flight or person in busy or person in blocked:
                        blocked.add(person)
                        continue
                    not_before = retry_at.get(update_id, 0.0)
                    if not_before > now:
                        blocked.add(person)
                        wait = min(wait or not_before - now, not_before - now)
                        continue
                    busy.add(person)
                    in_flight[update_id] = asyncio.create_task(deliver(hook, update, person))
            await self._arrived.wait(wait)

    async def _post_update(
        self, http: aiohttp.ClientSession, hook: Webhook, update: dict[str, Any], url: str
    ) -> str | None:
        """Delivers one update to `url`; the error message Telegram would show, or None."""
        headers = {}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with http.post(
                url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as response:
                if response.status != HTTPStatus.OK:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                reply, typed = await _read_webhook_reply(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{CONNECTION_FAILED}: {type(exc).__name__}: {exc}"
        if isinstance(reply.get("method"), str):
            # A bot may answer the webhook with a method call; Telegram runs it, silently.
            name = reply.pop("method")
            with contextlib.suppress(ConnectionDropped):  # nobody waits for that answer
                await self._call(hook.token, name, reply, typed=typed)
        return None


async def _read_request(request: web.Request) -> tuple[dict[str, Any], bool]:
    """Parameters of a call, and whether they are already typed (JSON) or strings (forms)."""
    if request.method == "GET":
        return dict(request.query), False
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise ValueError("can't parse JSON encoded request body") from exc
        if not isinstance(body, dict):
            raise ValueError("JSON object expected in request body")
        return body, True
    form = await request.post()
    raw: dict[str, Any] = dict(request.query)
    for key, value in form.items():
        if isinstance(value, FileField):
            raw[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
        else:
            raw[key] = str(value)
    return raw, False


def _decode_params(
    method: type[TelegramMethod[Any]], raw: dict[str, Any], *, typed: bool
) -> dict[str, Any]:
    """Form strings to values, and `attach://name` references to the uploaded parts."""
    attachments = {
        key: value
        for key, value in raw.items()
        if isinstance(value, UploadedFile) and key not in method.model_fields
    }
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in attachments:
            continue
        if isinstance(value, str) and not typed:
            value = decode_form_value(method, key, value)
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part not in attachments:
                raise bad_request(f"file {part!r} is not attached to the request")
            value = attachments[part]
        params[key] = value
    return params


async def _read_webhook_reply(response: aiohttp.ClientResponse) -> tuple[dict[str, Any], bool]:
    """A method call in the webhook's answer (JSON, or a form as aiogram writes it), and whether
    its values are already typed; empty when the answer holds none."""
    if response.content_type == "application/json":
        try:
            body = await response.json()
        except ValueError:
            return {}, True
        return (body if isinstance(body, dict) else {}), True
    if response.content_type != "multipart/form-data":
        return {}, False
    reply: dict[str, Any] = {}
    reader = aiohttp.MultipartReader(response.headers, response.content)
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
            continue
        if part.filename:
            content = bytes(await part.read())
            reply[part.name] = UploadedFile(
                part.filename, content, part.headers.get("Content-Type")
            )
        else:
            reply[part.name] = await part.text()
    return reply, False
