"""The delivery engine: every message the bot sends to people on its own initiative goes through
an outbox row, one delivery row per recipient, and a worker that sends them at Telegram's pace.

    outbox.py   enqueue a message for an audience (a large one in the background, in chunks),
                count it, follow its progress, cancel it
    worker.py   DeliveryWorker: claims due rows, decides, sends through a Sender, records
    ledger.py   the worker's reads and writes: claims under a lease, grouped records
    pacing.py   the bot-wide rate and the one-message-a-second-per-person pacer
    text.py     long HTML texts split as Telegram counts them
    compose.py  the parts a delivery is sent as (text, media, buttons)
    lanes.py    which delivery a free lane takes next; the rest of a message in parts parked
    sender.py   the Sender protocol and the outcomes it raises
    channel.py  the public channel: one post per subject, queued by post(), edited as it changes

The engine knows nothing of aiogram. The pieces that do are imported from their own modules by
the app that wires them in: telegram.py (the Sender over a Bot), render.py (texts stored as keys,
in each recipient's language), status.py (the author's status message of an announcement).
"""

from bot.delivery.outbox import (
    AUDIENCE_KEYS,
    QUEUE_CHUNK,
    Progress,
    audience_query,
    cancel,
    count_audience,
    enqueue,
    enqueue_in_background,
    progress,
    queue_next_chunk,
    queued_in_background,
    queuing,
)
from bot.delivery.sender import (
    Buttons,
    SendBlocked,
    Sender,
    SendError,
    SendFailed,
    SendNetworkError,
    SendRetryAfter,
    SendUnauthorized,
)
from bot.delivery.text import CAPTION_LIMIT, TEXT_LIMIT, split_text, visible_length
from bot.delivery.worker import DeliveryWorker

__all__ = [
    "AUDIENCE_KEYS",
    "CAPTION_LIMIT",
    "QUEUE_CHUNK",
    "TEXT_LIMIT",
    "Buttons",
    "DeliveryWorker",
    "Progress",
    "SendBlocked",
    "SendError",
    "SendFailed",
    "SendNetworkError",
    "SendRetryAfter",
    "SendUnauthorized",
    "Sender",
    "audience_query",
    "cancel",
    "count_audience",
    "enqueue",
    "enqueue_in_background",
    "progress",
    "queue_next_chunk",
    "queued_in_background",
    "queuing",
    "split_text",
    "visible_length",
]
