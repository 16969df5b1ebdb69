from __future__ import annotations


def sentence(message: str) -> str:
    """A provider's message as the start of a sentence ("sandbox had …" → "Sandbox had …")."""
    return message[:1].upper() + message[1:]
