"""Domain errors that handlers turn into localized answers."""

from __future__ import annotations


class DomainError(Exception):
    """Base for every rule a service refuses to break; `key` names the text that explains it."""

    key = "error-generic"

    def __init__(self, key: str | None = None, **params: object) -> None:
        super().__init__(key or self.key)
        if key is not None:
            self.key = key
        self.params = params


class NotAllowed(DomainError):
    key = "error-not-allowed"


class NotFound(DomainError):
    key = "error-not-found"


class InvalidInput(DomainError):
    key = "error-invalid-input"
