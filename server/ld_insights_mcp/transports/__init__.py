"""How clients reach the server: stdio, HTTP (streamable and SSE), and the operations
endpoints beside HTTP."""
