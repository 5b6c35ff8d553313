"""Emulator test fixtures: an emulator, an HTTP client over ASGI that checks every answer
against the vendored contract, and the contract checker itself."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from tests.support import Emulator, Fault

TOKEN = "api-emulator-test-7d1e"
NOW_MS = 1_763_769_600_000  # 2025-11-22T00:00:00Z
BASE_URL = "https://app.launchdarkly.com"
HEADERS = {"Authorization": TOKEN, "LD-API-Version": "beta"}
CONTRACT_FILE = Path(__file__).parents[1] / "contract" / "insights-openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")

EXTENSIONS = {("createMetricGroup", 409): "StatusConflictErrorRep"}
"""Statuses the emulator answers that the contract does not list for the operation (the
brief asks for 409 on a taken metric-group key), with the schema their body follows."""


class Contract:
    """Looks up the contract's schema for an answer and validates bodies against it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def operations(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            (method, template, op)
            for template, item in self.spec["paths"].items()
            for method, op in item.items()
            if method in METHODS
        ]

    def find(self, method: str, raw_path: str) -> tuple[dict[str, Any] | None, bool]:
        """(the operation for ``method`` on ``raw_path``, whether the path is known)."""
        segments = raw_path.split("/")[1:]
        known = False
        for template, item in self.spec["paths"].items():
            parts = template.split("/")[1:]
            if len(parts) != len(segments) or not all(
                p == s or (p.startswith("{") and s) for p, s in zip(parts, segments, strict=True)
            ):
                continue
            known = True
            if method.lower() in item:
                return item[method.lower()], True
        return None, known

    def schema_for(self, method: str, raw_path: str, status: int) -> dict[str, Any] | None:
        """The schema for this answer; None when the answer has no body (204)."""
        operation, known = self.find(method, raw_path)
        if status == 401:
            return {"$ref": "#/components/schemas/UnauthorizedErrorRep"}
        if operation is None:
            expected = 405 if known else 404
            assert status == expected, f"{method} {raw_path}: expected {expected}, got {status}"
            name = "MethodNotAllowedErrorRep" if known else "NotFoundErrorRep"
            return {"$ref": f"#/components/schemas/{name}"}
        extension = EXTENSIONS.get((operation["operationId"], status))
        if extension:
            return {"$ref": f"#/components/schemas/{extension}"}
        response = operation["responses"].get(str(status))
        assert response is not None, f"{operation['operationId']} lists no {status}"
        content = response.get("content")
        return None if content is None else content["application/json"]["schema"]

    def validate(self, schema: dict[str, Any], body: Any) -> None:
        _validator(json.dumps(schema, sort_keys=True)).validate(body)

    def check(self, method: str, raw_path: str, status: int, content: bytes) -> None:
        """Assert that an answer is what the contract allows."""
        schema = self.schema_for(method, raw_path, status)
        if schema is None:
            assert content == b"", f"{status} must have an empty body"
            return
        self.validate(schema, json.loads(content))


REFUSALS: list[tuple[int, dict[str, str], Fault | None, str]] = [
    (401, {"Authorization": "api-wrong", "LD-API-Version": "beta"}, None, "wrong"),
    (401, {"LD-API-Version": "beta"}, None, "missing"),
    (401, {"Authorization": f"Bearer {TOKEN}", "LD-API-Version": "beta"}, None, "bearer"),
    (403, {"Authorization": TOKEN}, None, "no-beta"),
    (403, {"Authorization": TOKEN, "LD-API-Version": "20240415"}, None, "dated"),
    (429, dict(HEADERS), Fault(status=429, headers={"Retry-After": "1"}), "fault"),
]
"""(status, headers, fault, label): 401 for a wrong, a missing and a ``Bearer`` token, 403
without or with a dated ``LD-API-Version``, and a 429 fault."""


def refusals(successes: list[Any]) -> list[Any]:
    """Every refusal in ``REFUSALS`` for each operation, made from its first success case (a
    dataclass with ``operation``, ``status``, ``headers``, ``fault`` and ``label``)."""
    first = {case.operation: case for case in reversed(successes)}
    return [
        replace(base, status=status, headers=headers, fault=fault, label=label)
        for base in first.values()
        for status, headers, fault, label in REFUSALS
    ]


def operation_ids(operations: Iterable[tuple[str, str, str]]) -> set[str]:
    """The operation ids of ``routes`` entries (method, path template, operation id)."""
    return {operation_id for *_, operation_id in operations}


@cache
def _spec() -> dict[str, Any]:
    return dict(json.loads(CONTRACT_FILE.read_text()))


@cache
def _validator(schema_json: str) -> OAS30Validator:
    root = {"components": _spec()["components"], "allOf": [json.loads(schema_json)]}
    return OAS30Validator(root, format_checker=oas30_format_checker)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract(_spec())


@pytest.fixture
def emu() -> Emulator:
    return Emulator(token=TOKEN, now_ms=NOW_MS)


def checked_client(emulator: Emulator, contract: Contract, **options: Any) -> httpx.AsyncClient:
    """A client over ASGI whose every JSON answer is validated against the contract."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        if response.headers.get("content-type", "application/json").startswith("application/json"):
            raw_path = response.request.url.raw_path.decode().split("?", 1)[0]
            contract.check(
                response.request.method, raw_path, response.status_code, response.content
            )

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app),
        base_url=BASE_URL,
        headers=options.pop("headers", HEADERS),
        event_hooks={"response": [check]},
        **options,
    )


@pytest.fixture
async def api(emu: Emulator, contract: Contract) -> AsyncIterator[httpx.AsyncClient]:
    async with checked_client(emu, contract) as client:
        yield client
