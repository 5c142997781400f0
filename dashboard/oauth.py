"""Discord OAuth2, authorization code flow: the link to Discord's consent page, the code exchanged for a
token, and who the member is and which servers they manage. The token is used once and dropped."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from dashboard.params import MAX_ID, ascii_int

log = logging.getLogger(__name__)

MANAGE_GUILD = 0x20
ADMINISTRATOR = 0x8
SCOPES = ("identify", "guilds")
# Asked for only when the record names admin roles somewhere: reading a member's roles needs it.
ROLES_SCOPE = "guilds.members.read"
TIMEOUT = aiohttp.ClientTimeout(total=15)


class OAuthError(Exception):
    """Discord refused the code or answered something unreadable; the message is safe to show."""


@dataclass(frozen=True)
class DiscordGuild:
    id: int
    name: str
    manages: bool  # Manage Server, Administrator, or the owner


@dataclass(frozen=True)
class DiscordMember:
    id: str
    name: str
    guilds: tuple[DiscordGuild, ...]
    token: str  # the access token, kept only for this sign-in's role checks


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uri: str
    authorize_url: str
    api_base: str

    def authorize_link(self, state: str, roles: bool = False) -> str:
        """Discord's consent page for this application, coming back to `redirect_uri` with `state`."""
        scopes = [*SCOPES, ROLES_SCOPE] if roles else list(SCOPES)
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "scope": " ".join(scopes),
            "state": state,
            "redirect_uri": self.redirect_uri,
            "prompt": "consent",
        }
        return f"{self.authorize_url}?{urlencode(query)}"

    async def member(self, code: str) -> DiscordMember:
        """Exchange `code` and read the member and their servers. Raises OAuthError."""
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
            async with http.post(f"{self.api_base}/oauth2/token", data=form) as response:
                if response.status != 200:
                    # Discord's body may echo what was sent: only the status is logged.
                    log.warning("dashboard: Discord refused an OAuth code (HTTP %d)", response.status)
                    raise OAuthError("Discord did not accept the sign-in; try again")
                token = (await response.json()).get("access_token")
            if not isinstance(token, str) or not token:
                raise OAuthError("Discord's answer had no access token")
            headers = {"Authorization": f"Bearer {token}"}
            me = await _get(http, f"{self.api_base}/users/@me", headers)
            guilds = await _get(http, f"{self.api_base}/users/@me/guilds", headers)
        if not isinstance(me, dict) or not isinstance(guilds, list):
            raise OAuthError("Discord's answer was not understood")
        return DiscordMember(
            id=str(me.get("id", "")),
            name=str(me.get("global_name") or me.get("username") or "?"),
            guilds=tuple(
                _guild(g)
                for g in guilds
                if isinstance(g, dict) and ascii_int(str(g.get("id", "")), 0, MAX_ID) is not None
            ),
            token=token,
        )

    async def role_ids(self, token: str, guild_id: int) -> set[int]:
        """The member's roles in a server (needs the guilds.members.read scope); empty when refused."""
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            try:
                body = await _get(
                    http, f"{self.api_base}/users/@me/guilds/{guild_id}/member", {"Authorization": f"Bearer {token}"}
                )
            except OAuthError:
                return set()
        roles = body.get("roles", []) if isinstance(body, dict) else []
        return {i for r in roles if (i := ascii_int(str(r), 0, MAX_ID)) is not None}


def _guild(raw: dict[str, object]) -> DiscordGuild:
    try:
        permissions = int(str(raw.get("permissions", "0")))
    except ValueError:
        permissions = 0
    manages = bool(raw.get("owner")) or bool(permissions & (MANAGE_GUILD | ADMINISTRATOR))
    return DiscordGuild(id=int(str(raw["id"])), name=str(raw.get("name", "")), manages=manages)


async def _get(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> object:
    async with http.get(url, headers=headers) as response:
        if response.status != 200:
            log.warning("dashboard: Discord answered HTTP %d to a sign-in read", response.status)
            raise OAuthError("Discord did not let us read who you are")
        return await response.json()
