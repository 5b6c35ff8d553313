"""The SDK floor: a bare ``MCPServer`` with one trivial tool, for start-up comparisons."""

from mcp.server import MCPServer

server = MCPServer("floor")


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return text


if __name__ == "__main__":
    server.run("stdio")
