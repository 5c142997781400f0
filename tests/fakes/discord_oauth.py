"""A fake Discord OAuth2 server, as strict as the real one where a client can go wrong: the authorize
page checks the client and its registered redirect; `/oauth2/token` takes a code once, only with the
same redirect_uri and the client's secret (else 400 invalid_grant / 401 invalid_client); the user
endpoints need the access token and the scope each reads."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import BasicAuth, web


@dataclass
class FakeUser:
    id: str
    username: str
    guilds: list[dict[str, Any]] = field(default_factory=list)  # {id, name, owner, permissions}
    roles: dict[str, list[str]] = field(default_factory=dict)  # guild id -> role ids


@dataclass
class FakeDiscordOAuth:
    client_id: str = "123456789012345678"
    client_secret: str = "fake-oauth-client-secret-value"
    redirect_uris: list[str] = field(default_factory=list)
    # Who "is logged in to Discord" in the browser that opens the authorize page.
    user: FakeUser | None = None
    base: str = ""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def authorize_url(self) -> str:
        return f"{self.base}/oauth2/authorize"

    @property
    def api_base(self) -> str:
        return f"{self.base}/api/v10"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/oauth2/authorize", self._authorize)
        app.router.add_post("/api/v10/oauth2/token", self._token)
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/users/@me/guilds", self._guilds)
        app.router.add_get("/api/v10/users/@me/guilds/{guild}/member", self._member)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def code_for(self, user: FakeUser, redirect_uri: str, scopes: str = "identify guilds") -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"user": user, "redirect_uri": redirect_uri, "scopes": set(scopes.split())}
        return code

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if q.get("client_id") != self.client_id:
            return web.Response(status=400, text="Unknown application")
        if q.get("response_type") != "code":
            return web.Response(status=400, text="unsupported response_type")
        redirect = q.get("redirect_uri", "")
        if redirect not in self.redirect_uris:
            return web.Response(status=400, text="Invalid OAuth2 redirect_uri")
        scopes = q.get("scope", "")
        if not {"identify", "guilds"} <= set(scopes.split()):
            return web.Response(status=400, text="Invalid scope")
        if self.user is None:
            raise web.HTTPFound(f"{redirect}?{urlencode({'error': 'access_denied', 'state': q.get('state', '')})}")
        code = self.code_for(self.user, redirect, scopes)
        raise web.HTTPFound(f"{redirect}?{urlencode({'code': code, 'state': q.get('state', '')})}")

    async def _token(self, request: web.Request) -> web.StreamResponse:
        if not request.content_type == "application/x-www-form-urlencoded":
            return web.json_response({"error": "invalid_request"}, status=400)
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append(form)
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if "Authorization" in request.headers:
            auth = BasicAuth.decode(request.headers["Authorization"])
            client_id, client_secret = auth.login, auth.password
        if client_id != self.client_id or client_secret != self.client_secret:
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "authorization_code":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        grant = self.codes.pop(form.get("code", ""), None)  # a code is good once, right or wrong
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return web.json_response(
                {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}, status=400
            )
        token = secrets.token_urlsafe(24)
        self.tokens[token] = grant
        return web.json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 604800,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": " ".join(sorted(grant["scopes"])),
            }
        )

    def _grant(self, request: web.Request, scope: str) -> dict[str, Any]:
        header = request.headers.get("Authorization", "")
        grant = self.tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if grant is None:
            raise web.HTTPUnauthorized(text='{"message": "401: Unauthorized", "code": 0}')
        if scope not in grant["scopes"]:
            raise web.HTTPForbidden(text='{"message": "Missing Access", "code": 50001}')
        return grant

    async def _me(self, request: web.Request) -> web.StreamResponse:
        user: FakeUser = self._grant(request, "identify")["user"]
        return web.json_response({"id": user.id, "username": user.username, "global_name": None})

    async def _guilds(self, request: web.Request) -> web.StreamResponse:
        user: FakeUser = self._grant(request, "guilds")["user"]
        return web.json_response(user.guilds)

    async def _member(self, request: web.Request) -> web.StreamResponse:
        user: FakeUser = self._grant(request, "guilds.members.read")["user"]
        guild = request.match_info["guild"]
        if not any(g["id"] == guild for g in user.guilds):
            raise web.HTTPNotFound(text='{"message": "Unknown Guild", "code": 10004}')
        return web.json_response({"roles": user.roles.get(guild, []), "user": {"id": user.id}})
