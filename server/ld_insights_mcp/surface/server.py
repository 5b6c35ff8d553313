"""Building the MCP server: tools, resources, prompts, completions and the client's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ld_insights_mcp import __version__
from ld_insights_mcp.config import Settings
from ld_insights_mcp.shared import services as shared_services
from ld_insights_mcp.state import AppState, bind_app_state
from ld_insights_mcp.surface.arguments import StrictArgumentsServer
from ld_insights_mcp.surface.cache_hints import LIST_HINTS, static_resource_hints
from ld_insights_mcp.surface.completions import register_completions
from ld_insights_mcp.surface.live_resources import register_live_resources
from ld_insights_mcp.surface.prompts import load_prompt_templates, register_prompts
from ld_insights_mcp.surface.resources import register_knowledge_resources
from ld_insights_mcp.tools import register_tools
from ld_insights_mcp.tools.confirmation import hide_unconfirmable_tools, request_state_security
from ld_insights_mcp.ui import dashboard_apps

if TYPE_CHECKING:
    import httpx

    from ld_insights_mcp.launchdarkly.cache import ReadCache
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient

DEMO_BASE_URL = "http://launchdarkly.demo"

INSTRUCTIONS = """\
LaunchDarkly Engineering Insights: scores (0-100, higher is better) for release maturity \
(overall), velocity (deployment frequency, lead time), risk (deployment failure rate, change \
impact size) and efficiency (flag health, experimentation coverage), per project environment \
and per insight group (a team's slice). Start with get_insight_scores or \
list_insight_groups(include_scores=true); explain scores with the resources \
insights://score-categories/{category} and insights://indicators. notCalculated means no \
data, not zero."""


def create_server(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    cache: ReadCache | None = None,
    states: list[AppState] | None = None,
) -> StrictArgumentsServer:
    """The configured server. ``transport`` replaces the network (tests, the demo backend).

    In demo mode without a transport, an embedded emulator answers in-process. ``cache``
    (default: from the settings) answers reads for every session of this server; each
    lifespan's state is in ``states`` while it runs (inspection).
    """
    if settings.demo:
        # Imported here: the emulator package (Starlette, the seed) costs a real start ~50 ms.
        from ld_insights_mcp.emulator.constants import DEMO_TOKEN

        token = SecretStr(DEMO_TOKEN)
    else:
        token = settings.require_token()
    base_url = DEMO_BASE_URL if settings.demo else settings.base_uri
    services = shared_services.SharedServices(settings)
    asks_first = not settings.read_only and settings.unconfirmed_writes == "refuse"
    shared_cache = cache if cache is not None else services.cache

    def connect() -> LaunchDarklyClient:
        from dataclasses import replace

        from ld_insights_mcp.launchdarkly.cache import token_identity
        from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient

        network = transport
        if network is None and settings.demo:
            from httpx import ASGITransport

            from ld_insights_mcp.emulator import Emulator

            network = ASGITransport(app=Emulator(token=token.get_secret_value()).app)
            # this emulator is this lifespan's own: so is its cache
            read_cache = cache if cache is not None else settings.read_cache()
        else:
            read_cache = shared_cache
        options = settings.client_options()
        retry = replace(options.retry, sleep=services.retry_sleep(options.retry.sleep))
        return LaunchDarklyClient.create(
            base_url=base_url,
            token=token,
            options=replace(options, retry=retry),
            transport=network,
            cache=read_cache,
            hooks=services.hooks(token_identity(token, base_url)),
        )

    def rehearsal_client() -> LaunchDarklyClient:
        """A client like ``connect()``'s on a network that never leaves the process: no
        cache, no hooks (metrics), not the access token."""
        from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient
        from ld_insights_mcp.launchdarkly.rehearsal import RehearsalTransport

        return LaunchDarklyClient.create(
            base_url=base_url,
            token=SecretStr("rehearsal"),
            options=settings.client_options(),
            transport=RehearsalTransport(),
        )

    async def rehearse() -> int:
        from ld_insights_mcp.surface.warmup import rehearse

        return await rehearse(server, AppState(settings, rehearsal_client))

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[AppState]:
        state = AppState(settings, connect, rehearse)  # warmed after the first tools/list
        if states is not None:
            states.append(state)
        try:
            yield state
        finally:
            if states is not None:
                states.remove(state)
            await state.aclose()

    async def list_tools() -> list[Any]:
        return await server.list_tools()

    server = StrictArgumentsServer(
        name="ld-insights-mcp",
        title="LaunchDarkly Engineering Insights" + (" (demo data)" if settings.demo else ""),
        instructions=INSTRUCTIONS,
        version=__version__,
        website_url="https://launchdarkly.com/docs/home/releases/eng-insights",
        lifespan=lifespan,
        log_level=settings.log_level,
        middleware=[
            bind_app_state,
            static_resource_hints,
            shared_services.observed(services, list_tools),
            *([hide_unconfirmable_tools] if asks_first else []),
        ],
        cache_hints=LIST_HINTS,
        request_state_security=request_state_security(settings),
        extensions=[dashboard_apps()],
    )
    shared_services.register(server, services)
    register_tools(server, read_only=settings.read_only)
    register_knowledge_resources(server)
    register_live_resources(server)
    register_prompts(server, load_prompt_templates())
    register_completions(server)
    return server
