from bot.middlewares.chats import PrivateChatsOnly
from bot.middlewares.database import DbSessionMiddleware
from bot.middlewares.errors import DomainErrorMiddleware, make_error_handler
from bot.middlewares.i18n import UserI18nMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.middlewares.user import UserMiddleware

__all__ = [
    "DbSessionMiddleware",
    "DomainErrorMiddleware",
    "PrivateChatsOnly",
    "ThrottlingMiddleware",
    "UserI18nMiddleware",
    "UserMiddleware",
    "make_error_handler",
]
