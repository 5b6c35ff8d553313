"""Building ahead what the first LaunchDarkly call would otherwise build: the response models'
validators (deferred at import, so start-up does not pay for them) and what the first
connection loads. Nothing here opens a connection or sends anything."""

from __future__ import annotations

from types import ModuleType

from pydantic import BaseModel


def build_validators() -> int:
    """Build every response and request model's validator now; return how many were built."""
    from ld_insights_mcp.launchdarkly import evidence_models, models

    built = 0
    for module in (models, evidence_models):
        for model in _models_of(module):
            if model.model_rebuild():
                built += 1
    return built


def _models_of(module: ModuleType) -> list[type[BaseModel]]:
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseModel)
        and obj.__module__ == module.__name__
    ]


def warm_network() -> None:
    """Load what the first connection would load: the IDNA codec (host names are encoded
    with it when a socket connects) and the standard library's URL-splitting patterns (the
    HTTP stack parses each request's URL with ``urllib.request.Request``)."""
    import urllib.request

    "localhost".encode("idna")
    urllib.request.Request("http://localhost/")
