"""Removing a secret from text LaunchDarkly sends back (error messages, header values)."""

from __future__ import annotations

MIN_PREFIX = 8
"""The shortest prefix of a secret that is redacted on its own."""

REDACTED = "[redacted]"


class Redactor:
    """Replaces a secret, or any prefix of it of at least ``MIN_PREFIX`` characters (a shorter
    secret only whole), in text. ``repr`` never shows it."""

    __slots__ = ("_head", "_secret")

    def __init__(self, secret: str | None) -> None:
        self._secret = secret or ""
        self._head = self._secret[:MIN_PREFIX]

    def __call__(self, text: str) -> str:
        if not self._head or self._head not in text:
            return text
        parts: list[str] = []
        done = 0
        found = text.find(self._head)
        while found != -1:
            end = found + len(self._head)
            while (
                end < len(text)
                and end - found < len(self._secret)
                and text[end] == self._secret[end - found]
            ):
                end += 1
            parts += [text[done:found], REDACTED]
            done = end
            found = text.find(self._head, end)
        parts.append(text[done:])
        return "".join(parts)

    def __repr__(self) -> str:
        return f"Redactor(secret={'**********' if self._secret else None})"
