"""The SDK floor for a tool call: a bare ``MCPServer`` whose one tool does the same GET with a
plain ``httpx.AsyncClient`` and returns the body as text (no validation, no views), on the
same event loop as ours (asyncio's). What the SDK's stdio dispatch costs by itself."""

import os

import anyio
import httpx
from mcp.server import MCPServer

server = MCPServer("floor-api")
_client: httpx.AsyncClient | None = None


@server.tool()
async def call_api(path: str, params: dict[str, str]) -> str:
    """GET ``path`` with ``params`` from the API; the body as text."""
    global _client
    if _client is None:
        _client = httpx.AsyncClient(
            base_url=os.environ["LD_BASE_URI"],
            headers={"Authorization": os.environ["LD_ACCESS_TOKEN"], "LD-API-Version": "beta"},
        )
    response = await _client.get(path, params=params)
    response.raise_for_status()
    return response.text


if __name__ == "__main__":
    anyio.run(server.run_stdio_async)
