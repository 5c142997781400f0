"""A fake Discord: REST (v10) and gateway on loopback, for the real discord.py client.

Gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME (replays what was missed),
presence updates, and dispatch of MESSAGE_CREATE/UPDATE/DELETE and INTERACTION_CREATE. Sharded as
Discord is: `/gateway/bot` says `shard_count`, each connection IDENTIFYs with `shard: [id, count]` (a
wrong count is closed with 4010 or 4011), a guild's events go to shard `(guild_id >> 22) % count` and DMs to
shard 0 (a shard-less IDENTIFY when more are needed is closed with 4011); each IDENTIFY opens a session
with its own sequence and backlog, so one shard can be dropped, held at IDENTIFY or sent INVALID_SESSION
while the others run, and two processes holding one shard each get all of its events, as on Discord.
`send_raw` puts anything on a shard's socket (non-JSON, wrong shapes) for chaos tests.
REST: messages (create, edit, delete, fetch, history), typing, command sync, interaction callbacks
and follow-ups, with Discord-style rate-limit buckets that answer 429 + Retry-After when hit too fast.
Everything the bot does is recorded for assertions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

_ids = itertools.count()
ALL_PERMISSIONS = str((1 << 47) - 1)
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL, SEND_MESSAGES, READ_HISTORY = 1 << 10, 1 << 11, 1 << 16
CREATE_PUBLIC_THREADS, SEND_MESSAGES_IN_THREADS = 1 << 35, 1 << 38
# Discord's answers about threads.
THREAD_ARCHIVED = {"message": "Thread is archived", "code": 50083}
THREAD_EXISTS = {"message": "A thread has already been created for this message", "code": 160004}
THREAD_LOCKED = {"message": "Thread is locked", "code": 160005}


# Waits guard against a bot that never answers; never a speed requirement (a busy machine waits longer).
GUARD_S = 600.0


# Discord's answer to a reply whose message was deleted (the reply is not posted).
UNKNOWN_REFERENCE = {
    "message": "Invalid Form Body",
    "code": 50035,
    "errors": {"message_reference": {"_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]}},
}


class DiscordError(Exception):
    """An error Discord answers with: its status and JSON body (served as `application/json`, no charset,
    as Discord does; aiohttp's own HTTP exceptions add `; charset=utf-8`, and discord.py then reads the
    body as plain text, losing the error code)."""

    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("message"))
        self.status = status
        self.payload = payload


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON exactly as Discord sends it: discord.py checks for `application/json` with no charset."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={**(headers or {}), "Content-Type": "application/json"}
    )


_last_snowflake = 0


def shown_text(msg: dict[str, Any]) -> str:
    """What a member reads in a message: its content, or its embeds' text (bots that answer in embeds)."""
    return msg.get("content") or "\n".join(e.get("description") or "" for e in msg.get("embeds") or [])


def snowflake() -> str:
    """Time-ordered like Discord's: discord.py reads a message's creation time from its id."""
    global _last_snowflake
    value = max(((int(time.time() * 1000) - 1_420_070_400_000) << 22) | (next(_ids) & 0xFFF), _last_snowflake + 1)
    _last_snowflake = value
    return str(value)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Bucket:
    limit: int
    per_s: float
    hits: deque[float] = field(default_factory=deque)

    def take(self) -> tuple[bool, int, float]:
        """(allowed, remaining after this call, seconds until a slot frees)."""
        now = time.monotonic()
        while self.hits and now - self.hits[0] >= self.per_s:
            self.hits.popleft()
        if len(self.hits) >= self.limit:
            return False, 0, self.per_s - (now - self.hits[0])
        self.hits.append(now)
        reset = self.per_s - (now - self.hits[0])
        return True, self.limit - len(self.hits), reset


@dataclass
class Session:
    """One IDENTIFY of a shard: its socket (None while away; Discord keeps it resumable), its own
    sequence and the backlog a RESUME replays."""

    session_id: str
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    backlog: list[dict[str, Any]] = field(default_factory=list)


# Sessions kept per shard: those that went away stay resumable until this many newer ones exist.
SESSIONS_KEPT = 8


@dataclass
class ShardLink:
    """One gateway shard. Every IDENTIFY opens a session of its own; as on Discord, a shard identified
    twice (two processes with one layout) delivers its events to both sessions, and neither is closed.
    `ws`, `seq`, `session_id` and `backlog` are the newest session's."""

    sessions: list[Session] = field(default_factory=list)
    identifies: int = 0

    @property
    def newest(self) -> Session | None:
        return self.sessions[-1] if self.sessions else None

    @property
    def ws(self) -> web.WebSocketResponse | None:
        return self.newest.ws if self.newest else None

    @property
    def seq(self) -> int:
        return self.newest.seq if self.newest else 0

    @property
    def session_id(self) -> str:
        return self.newest.session_id if self.newest else ""

    @property
    def backlog(self) -> list[dict[str, Any]]:
        return self.newest.backlog if self.newest else []

    def connected(self) -> list[Session]:
        return [s for s in self.sessions if s.ws is not None and not s.ws.closed]


@dataclass
class Request:
    method: str
    path: str
    body: Any
    at: float
    status: int = 200


class FakeDiscord:
    def __init__(self, *, message_limit: tuple[int, float] = (5, 5.0), shard_count: int = 1) -> None:
        self.shard_count = shard_count
        self.files: dict[str, bytes] = {}
        self.file_downloads: list[str] = []
        self.app_id = snowflake()
        self.bot = {
            "id": self.app_id,
            "username": "Observer",
            "discriminator": "0",
            "global_name": "Observer",
            "avatar": None,
            "bot": True,
        }
        self.users: dict[str, dict[str, Any]] = {}
        self.guild_id = snowflake()
        self.guilds: dict[str, str] = {self.guild_id: "Test Guild"}  # id → name; `add_guild` adds more
        self.owner = self.add_user("owner")
        self.channels: dict[str, dict[str, Any]] = {}
        self.dm_channels: dict[str, dict[str, Any]] = {}  # the bot's DMs, by channel id
        self.messages: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.members: dict[str, dict[str, Any]] = {}
        self.requests: list[Request] = []
        self.interaction_responses: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._clicked: dict[str, dict[str, Any]] = {}  # interaction id → the message whose button was pressed
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.presences: list[dict[str, Any]] = []
        self.typing: list[str] = []
        self.status_429 = 0
        self.message_limit = message_limit
        # Set to an unset Event to hold every read of channel messages until the test sets it.
        self.reads_open: asyncio.Event | None = None
        self._buckets: dict[str, Bucket] = {}
        self.shard_links: dict[int, ShardLink] = {i: ShardLink() for i in range(shard_count)}
        # A shard id → an unset Event: that shard's IDENTIFY is not answered (no READY) until it is set.
        self.identify_gates: dict[int, asyncio.Event] = {}
        # A close code (4004 bad token, 4014 disallowed intents…): every IDENTIFY is refused with it, as
        # Discord does until the owner fixes the cause; None accepts again.
        self.refuse_identify: int | None = None
        self.identified = asyncio.Event()
        self.resumed = 0
        self.identifies = 0
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.message_waiters: list[tuple[Any, asyncio.Future[dict[str, Any]]]] = []
        # Discord's default @everyone permissions include opening public threads and writing in them.
        everyone = SEND_MESSAGES | VIEW_CHANNEL | READ_HISTORY | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS
        self.roles: list[dict[str, Any]] = [self._role(self.guild_id, "@everyone", str(everyone))]
        self.member_roles: dict[str, list[str]] = defaultdict(list)
        # Channel webhooks (characters speak through them). False: the bot lacks Manage Webhooks (403s).
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.webhooks_allowed = True
        self.refused_replies = 0  # replies refused because their message was deleted
        # Channels the bot itself may not read: reading their messages answers 403 Missing Access.
        self.closed_to_bot: set[str] = set()
        # Channel id → an HTTP status (429 as from Cloudflare, 503…) every message post there is answered
        # with, until the test removes it: a passing fault on Discord's side.
        self.failing_posts: dict[str, int] = {}
        self.general = self.add_channel("general")

    # ----- world building -----
    def add_user(self, name: str, *, bot: bool = False) -> dict[str, Any]:
        user = {
            "id": snowflake(),
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": None,
            "bot": bot,
        }
        self.users[user["id"]] = user
        return user

    @staticmethod
    def _role(role_id: str, name: str, permissions: str = "0") -> dict[str, Any]:
        return {
            "id": role_id,
            "name": name,
            "permissions": permissions,
            "position": 0 if name == "@everyone" else 1,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def add_role(self, name: str) -> dict[str, Any]:
        """A role with no permissions of its own (announce it with `refresh_guild` once the bot runs)."""
        role = self._role(snowflake(), name)
        self.roles.append(role)
        return role

    def give_role(self, user: dict[str, Any], role: dict[str, Any]) -> None:
        self.member_roles[user["id"]].append(role["id"])

    async def refresh_guild(self) -> None:
        """Channels and roles added after the bot connected: what a GUILD_CREATE tells discord.py's cache."""
        await self.dispatch("GUILD_CREATE", self.guild_payload())

    def member(self, user: dict[str, Any], *, manage_guild: bool = False) -> dict[str, Any]:
        # Not an admin: @everyone's View Channel, Send Messages and Send Messages in Threads.
        everyone = SEND_MESSAGES | VIEW_CHANNEL | SEND_MESSAGES_IN_THREADS
        perms = ALL_PERMISSIONS if manage_guild or user["id"] == self.owner["id"] else str(everyone)
        return {
            "user": user,
            "roles": list(self.member_roles.get(user["id"], [])),
            "joined_at": now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": perms,
            "nick": None,
        }

    def add_category(self, name: str) -> dict[str, Any]:
        return self.add_channel(name, kind=4)

    def add_channel(
        self, name: str, *, parent: dict[str, Any] | None = None, kind: int = 0, guild: str | None = None
    ) -> dict[str, Any]:
        channel = {
            "id": snowflake(),
            "type": kind,
            "name": name,
            "guild_id": guild or self.guild_id,
            "position": len(self.channels),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": parent["id"] if parent else None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        self.channels[channel["id"]] = channel
        return channel

    def add_guild(self, name: str, *, shard: int | None = None) -> str:
        """Another guild (its id lands on `shard` when given); returns its id. Add channels with
        `add_channel(..., guild=id)`; its only role is @everyone."""
        base = int(snowflake())
        stamp = base >> 22
        while shard is not None and stamp % self.shard_count != shard:
            stamp += 1
        guild_id = str(stamp << 22 | (base & 0x3FFFFF))
        self.guilds[guild_id] = name
        return guild_id

    def shard_of(self, guild_id: str | None) -> int:
        """Discord's routing: a guild's events go to `(guild_id >> 22) % shard_count`; DMs to shard 0."""
        return (int(guild_id) >> 22) % self.shard_count if guild_id else 0

    def add_thread(self, name: str, parent: dict[str, Any], *, private: bool = False) -> dict[str, Any]:
        """A thread under `parent` (announce it with `refresh_guild` once the bot runs): Discord lists
        threads apart from channels in GUILD_CREATE."""
        thread = self.add_channel(name, parent=parent, kind=12 if private else 11)
        thread.update(
            owner_id=self.owner["id"],
            message_count=0,
            member_count=1,
            thread_metadata={
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now_iso(),
                "locked": False,
            },
        )
        return thread

    def add_forum(self, name: str) -> dict[str, Any]:
        """A forum channel (type 15): it holds posts (threads), never messages of its own."""
        forum = self.add_channel(name, kind=15)
        forum.update(available_tags=[], default_reaction_emoji=None, default_sort_order=None, flags=0)
        return forum

    def _new_thread(self, thread_id: str, name: str, parent: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
        if not 1 <= len(name) <= 100:
            raise DiscordError(400, {"message": "Invalid Form Body", "code": 50035, "errors": {"name": {}}})
        thread = {
            "id": thread_id,
            "type": 11,
            "name": name,
            "guild_id": parent["guild_id"],
            "parent_id": parent["id"],
            "owner_id": owner["id"],
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now_iso(),
                "locked": False,
            },
        }
        self.channels[thread_id] = thread
        return thread

    async def post_in_forum(
        self, author: dict[str, Any], forum: dict[str, Any], title: str, content: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A member's forum post: a thread and its starter message, which share one id (as on Discord).
        Returns (thread, starter message)."""
        assert forum["type"] == 15, "posts go in a forum channel"
        post_id = snowflake()
        thread = self._new_thread(post_id, title, forum, author)
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        msg = self.message_payload(post_id, author, content, id=post_id)
        self.messages[post_id][post_id] = msg
        await self.dispatch("MESSAGE_CREATE", msg)
        return thread, msg

    async def archive(self, thread: dict[str, Any], *, locked: bool = False) -> None:
        """Archive a thread (and lock it, when asked), as a moderator or Discord's inactivity timer does."""
        thread["thread_metadata"].update(archived=True, locked=locked, archive_timestamp=now_iso())
        await self.dispatch("THREAD_UPDATE", thread)

    def deny_bot(self, channel: dict[str, Any], permissions: int) -> None:
        """A channel overwrite denying the bot's member these permissions."""
        channel["permission_overwrites"] = [
            *channel["permission_overwrites"],
            {"id": self.bot["id"], "type": 1, "allow": "0", "deny": str(permissions)},
        ]

    def bot_permissions(self, channel: dict[str, Any]) -> int:
        """The bot's permissions in `channel` as Discord computes them: @everyone and its roles, then the
        channel's overwrites (a thread's are its parent's)."""
        if channel["type"] in (11, 12):
            channel = self.channels[channel["parent_id"]]
        roles = {self.guild_id, *self.member_roles.get(str(self.bot["id"]), [])}
        perms = 0
        for role in self.roles:
            if role["id"] in roles:
                perms |= int(role["permissions"])
        allow = deny = 0
        for overwrite in channel["permission_overwrites"]:
            if overwrite["id"] == self.guild_id:
                perms = (perms & ~int(overwrite["deny"])) | int(overwrite["allow"])
            elif overwrite["id"] in roles or overwrite["id"] == self.bot["id"]:
                allow |= int(overwrite["allow"])
                deny |= int(overwrite["deny"])
        return (perms & ~deny) | allow

    def threads_of(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for c in self.channels.values() if c.get("parent_id") == parent["id"] and c["type"] in (11, 12)]

    def hide(self, channel: dict[str, Any], *, but_for: dict[str, Any]) -> None:
        """Only members with the role `but_for` can see `channel` (View Channel denied to @everyone)."""
        view, history = 1 << 10, 1 << 16
        channel["permission_overwrites"] = [
            {"id": self.guild_id, "type": 0, "allow": "0", "deny": str(view | history)},
            {"id": but_for["id"], "type": 0, "allow": str(view | history), "deny": "0"},
        ]

    def guild_payload(self, guild_id: str | None = None) -> dict[str, Any]:
        guild_id = guild_id or self.guild_id
        roles = (
            self.roles
            if guild_id == self.guild_id
            else [self._role(guild_id, "@everyone", self.roles[0]["permissions"])]
        )
        return {
            "id": guild_id,
            "name": self.guilds[guild_id],
            "owner_id": self.owner["id"],
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "channels": [c for c in self.channels.values() if c["guild_id"] == guild_id and c["type"] not in (11, 12)],
            "threads": [c for c in self.channels.values() if c["guild_id"] == guild_id and c["type"] in (11, 12)],
            "members": [self.member(self.bot)],
            "voice_states": [],
            "presences": [],
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "joined_at": now_iso(),
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    # ----- lifecycle -----
    async def start(self, host: str = "127.0.0.1", advertise: str | None = None) -> str:
        """Serve on `host`; URLs given out name `advertise` (a container reaches the host by another name)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        app.router.add_get("/attachments/{id}/{filename}", self._attachment)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://{advertise or host}:{port}"
        return self.base

    @property
    def api_base(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/gateway"

    async def stop(self) -> None:
        for link in self.shard_links.values():
            for session in link.connected():
                await session.ws.close()  # type: ignore[union-attr]
        if self._runner is not None:
            await self._runner.cleanup()

    # ----- gateway -----
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op = payload.get("op")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif op == 2:
                refused = self._shard_refusal(payload["d"].get("shard"))
                if refused is not None:
                    await ws.close(code=refused[0], message=refused[1])
                    break
                if self.refuse_identify is not None:
                    await ws.close(code=self.refuse_identify, message=b"refused")
                    break
                shard = int(payload["d"]["shard"][0]) if payload["d"].get("shard") else 0
                gate = self.identify_gates.get(shard)
                if gate is not None:
                    await gate.wait()
                await self._identify(ws, shard)
            elif op == 6:
                seq = payload["d"].get("seq") or 0
                found = self._session(payload["d"].get("session_id"))
                if found is None:
                    await ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
                    continue
                _, session = found
                session.ws = ws
                self.resumed += 1
                for event in [e for e in session.backlog if e["s"] > seq]:
                    await ws.send_str(json.dumps(event))
                await self._send(session, "RESUMED", {})
                self.identified.set()
            elif op == 3:
                self.presences.append(payload["d"])
        for link in self.shard_links.values():
            for session in link.sessions:
                if session.ws is ws:
                    session.ws = None
        return ws

    def _shard_refusal(self, shard: Any) -> tuple[int, bytes] | None:
        """Discord's refusal of an IDENTIFY's `shard: [id, count]`: 4011 when the bot needs more shards
        than it asked for (none given counts as one), 4010 for an id outside the count. A larger count
        than the fake's is refused too (4010): the fake routes guilds by its own count only."""
        if shard is None:
            return (4011, b"Sharding required") if self.shard_count > 1 else None
        if not (isinstance(shard, list) and len(shard) == 2 and all(isinstance(n, int) for n in shard)):
            return 4010, b"Invalid shard"
        shard_id, count = shard
        if count < self.shard_count:
            return 4011, b"Sharding required"
        if count != self.shard_count or not 0 <= shard_id < count:
            return 4010, b"Invalid shard"
        return None

    def _session(self, session_id: str | None) -> tuple[int, Session] | None:
        for shard, link in self.shard_links.items():
            for session in link.sessions:
                if session_id and session.session_id == session_id:
                    return shard, session
        return None

    async def _identify(self, ws: web.WebSocketResponse, shard: int) -> None:
        link = self.shard_links[shard]
        session = Session(session_id=snowflake(), ws=ws)
        link.sessions.append(session)
        del link.sessions[:-SESSIONS_KEPT]
        link.identifies += 1
        self.identifies += 1
        mine = [g for g in self.guilds if self.shard_of(g) == shard]
        await self._send(
            session,
            "READY",
            {
                "v": 10,
                "user": self.bot,
                "guilds": [{"id": g, "unavailable": True} for g in mine],
                "session_id": session.session_id,
                "resume_gateway_url": self.gateway_url,
                "shard": [shard, self.shard_count],
                "application": {"id": self.app_id, "flags": 0},
                "private_channels": [],
                "relationships": [],
            },
        )
        for guild_id in mine:
            await self._send(session, "GUILD_CREATE", self.guild_payload(guild_id))
        self.identified.set()

    def _route_event(self, event: str, data: Any) -> int:
        if not isinstance(data, dict):
            return 0
        guild_id = data.get("id") if event in ("GUILD_CREATE", "GUILD_UPDATE") else data.get("guild_id")
        if guild_id is None and data.get("channel_id") in self.channels:
            guild_id = self.channels[data["channel_id"]]["guild_id"]
        try:
            return self.shard_of(str(guild_id)) if guild_id else 0
        except ValueError:  # a malformed guild id (chaos tests): Discord would not route it; shard 0 gets it
            return 0

    async def dispatch(self, event: str, data: Any, *, shard: int | None = None) -> None:
        """Send a dispatch to the shard that owns it (its guild's, or shard 0), as Discord routes events:
        to every session of that shard (each with its own sequence; one away keeps it for its RESUME)."""
        link = self.shard_links[self._route_event(event, data) if shard is None else shard]
        for session in list(link.sessions):
            await self._send(session, event, data)

    async def _send(self, session: Session, event: str, data: Any) -> None:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.backlog.append(payload)
        if session.ws is not None and not session.ws.closed:
            try:
                await session.ws.send_str(json.dumps(payload))
            except ConnectionError:
                pass  # delivered on RESUME

    async def send_raw(self, text: str, *, shard: int = 0) -> None:
        """Put anything on a shard's socket as it is: not JSON, not a gateway payload (chaos tests)."""
        link = self.shard_links[shard]
        assert link.ws is not None and not link.ws.closed, f"shard {shard} is not connected"
        await link.ws.send_str(text)

    @property
    def last_seq(self) -> int:
        return max(link.seq for link in self.shard_links.values())

    def shard_seq(self, shard: int) -> int:
        return self.shard_links[shard].seq

    async def drop_connection(self, shard: int | None = None) -> None:
        """Close the socket (one shard's, or all) with a resumable code, as Discord does when it cycles a
        gateway node."""
        self.identified.clear()
        for shard_id, link in self.shard_links.items():
            if shard in (None, shard_id):
                for session in link.connected():
                    await session.ws.close(code=4000, message=b"fake gateway restart")  # type: ignore[union-attr]

    async def close_shard(self, shard: int, code: int) -> None:
        """Close one shard's socket with `code`, as Discord does (4004 after a token reset, 4011 when
        the bot outgrew its shards, 4014 when a privileged intent was switched off …)."""
        link = self.shard_links[shard]
        assert link.ws is not None and not link.ws.closed, f"shard {shard} is not connected"
        self.identified.clear()
        await link.ws.close(code=code, message=b"closed by the fake Discord")

    async def invalidate_session(self, shard: int) -> None:
        """INVALID_SESSION (not resumable) to one shard: it must IDENTIFY again; what it missed is not
        replayed, as on Discord."""
        link = self.shard_links[shard]
        session = link.newest
        assert session is not None and session.ws is not None and not session.ws.closed, (
            f"shard {shard} is not connected"
        )
        link.sessions.remove(session)  # not resumable: it gets nothing more
        await session.ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))

    # ----- files members attach (served like Discord's CDN) -----
    def attachment(self, filename: str, data: bytes, content_type: str = "audio/ogg", **extra: Any) -> dict[str, Any]:
        """An attachment payload whose URL serves `data` from this server (extra: duration_secs, waveform)."""
        attachment_id = snowflake()
        self.files[attachment_id] = data
        return {
            "id": attachment_id,
            "filename": filename,
            "size": len(data),
            "url": f"{self.base}/attachments/{attachment_id}/{filename}",
            "proxy_url": f"{self.base}/attachments/{attachment_id}/{filename}",
            "content_type": content_type,
            **extra,
        }

    async def _attachment(self, request: web.Request) -> web.Response:
        self.file_downloads.append(request.match_info["id"])
        data = self.files.get(request.match_info["id"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    # ----- what members do -----
    def dm_channel(self, user_id: str) -> dict[str, Any]:
        """The bot's direct-message channel with a user (POST /users/@me/channels), made once, as Discord
        does; an unknown user is 404 Unknown User. Its messages carry no guild_id."""
        if user_id not in self.users:
            raise DiscordError(404, {"message": "Unknown User", "code": 10013})
        for channel in self.dm_channels.values():
            if channel["recipients"][0]["id"] == user_id:
                return channel
        channel = {"id": snowflake(), "type": 1, "last_message_id": None, "flags": 0}
        channel["recipients"] = [self.users[user_id]]
        self.dm_channels[channel["id"]] = channel
        return channel

    def message_payload(self, channel_id: str, author: dict[str, Any], content: str, **extra: Any) -> dict[str, Any]:
        mentions = [u for u in [self.bot, *self.users.values()] if f"<@{u['id']}>" in content]
        msg = {
            "id": snowflake(),
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": "@everyone" in content,
            "mentions": mentions,
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }
        if channel_id in self.channels:
            msg["guild_id"] = self.channels[channel_id]["guild_id"]
            msg["member"] = {k: v for k, v in self.member(author).items() if k != "user"}
        msg.update(extra)
        if channel_id in self.channels:  # as on Discord: GUILD_CREATE tells each channel's newest message
            self.channels[channel_id]["last_message_id"] = msg["id"]
        return msg

    async def send_as(
        self,
        author: dict[str, Any],
        content: str,
        *,
        channel: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        channel = channel or self.general
        if reply_to is not None:
            extra.update(
                type=19,
                message_reference={
                    "message_id": reply_to["id"],
                    "channel_id": channel["id"],
                    "guild_id": self.guild_id,
                },
                referenced_message=reply_to,
            )
        meta = channel.get("thread_metadata")
        if meta is not None and meta["archived"]:
            assert not meta["locked"], "members cannot write in a locked thread"
            meta["archived"] = False  # as on Discord: a member's message reopens an archived thread
            await self.dispatch("THREAD_UPDATE", channel)
        msg = self.message_payload(channel["id"], author, content, **extra)
        self.messages[channel["id"]][msg["id"]] = msg
        await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    async def edit_as(self, msg: dict[str, Any], content: str) -> None:
        msg.update(content=content, edited_timestamp=now_iso())
        await self.dispatch("MESSAGE_UPDATE", msg)

    async def delete(self, msg: dict[str, Any]) -> None:
        self.messages[msg["channel_id"]].pop(msg["id"], None)
        await self.dispatch(
            "MESSAGE_DELETE",
            {"id": msg["id"], "channel_id": msg["channel_id"], "guild_id": msg.get("guild_id", self.guild_id)},
        )

    async def proxy_repost(
        self, msg: dict[str, Any], content: str, *, name: str, delete_first: bool = False
    ) -> dict[str, Any]:
        """What PluralKit or Tupperbox does: repost a member's message through the proxy bot's own
        channel webhook (named `name`, the proxied member), and delete the original (after the repost,
        as PluralKit does; `delete_first` for the other order)."""
        channel_id = msg["channel_id"]
        proxy = next((u for u in self.users.values() if u["username"] == "proxy-bot"), None)
        proxy = proxy or self.add_user("proxy-bot", bot=True)
        hook_id = snowflake()
        if delete_first:
            await self.delete(msg)
        author = {"id": hook_id, "username": name, "discriminator": "0000", "avatar": None, "bot": True}
        repost = self.message_payload(channel_id, author, content, webhook_id=hook_id, application_id=proxy["id"])
        repost.pop("member", None)
        self.messages[channel_id][repost["id"]] = repost
        await self.dispatch("MESSAGE_CREATE", repost)
        if not delete_first:
            await self.delete(msg)
        return repost

    async def slash(
        self,
        user: dict[str, Any],
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        channel: dict[str, Any] | None = None,
        manage_guild: bool = False,
        attachments: list[dict[str, Any]] | None = None,
        roles: list[dict[str, Any]] | None = None,
        locale: str = "en-US",
        permissions: int | None = None,
        channels: list[dict[str, Any]] | None = None,
    ) -> str:
        """Invoke a slash command as `user` (whose Discord client speaks `locale`); returns the interaction token.
        `permissions`: what Discord resolved for the member in that channel (default: view and send)."""
        channel = channel or self.general
        scope = self.guild_id if any(c["name"] == name for c in self.commands.get(self.guild_id, [])) else "global"
        command = next(c for c in self.commands[scope] if c["name"] == name)
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": options or []}
        if scope != "global":
            data["guild_id"] = self.guild_id
        if attachments:
            data["resolved"] = {"attachments": {a["id"]: a for a in attachments}}
        if roles:  # role options: Discord sends the id as the value and the role under `resolved`
            data.setdefault("resolved", {})["roles"] = {r["id"]: r for r in roles}
        if channels:  # channel options: likewise, with the member's permissions there
            resolved = {c["id"]: {**c, "permissions": str(permissions or ALL_PERMISSIONS)} for c in channels}
            data.setdefault("resolved", {})["channels"] = resolved
        token = "tok" + snowflake()
        member = self.member(user, manage_guild=manage_guild)
        if permissions is not None:
            member["permissions"] = str(permissions)
        await self.dispatch(
            "INTERACTION_CREATE",
            {
                "id": snowflake(),
                "application_id": self.app_id,
                "type": 2,
                "token": token,
                "version": 1,
                "data": data,
                "guild_id": self.guild_id,
                "channel_id": channel["id"],
                "channel": channel,
                "member": member,
                "app_permissions": ALL_PERMISSIONS,
                "attachment_size_limit": 10 * 1024 * 1024,
                "locale": locale,
                "guild_locale": "en-US",
                "entitlements": [],
                "authorizing_integration_owners": {"0": self.guild_id},
                "context": 0,
            },
        )
        return token

    async def click(
        self,
        user: dict[str, Any],
        message: dict[str, Any],
        custom_id: str,
        *,
        manage_guild: bool = False,
        stale: bool = False,
    ) -> str:
        """Press a button of `message` as `user` (a MESSAGE_COMPONENT interaction); returns its token.
        As Discord does, only a custom id present on the message can be pressed; `stale`: as the
        member's client still shows `message` (a press sent before an update removing the buttons arrived)."""
        current = message if stale else self.messages[message["channel_id"]][message["id"]]
        ids = [c.get("custom_id") for row in current.get("components") or [] for c in row.get("components", [])]
        assert custom_id in ids, f"no button {custom_id!r} on that message: {ids}"
        token = "tok" + snowflake()
        interaction_id = snowflake()
        self._clicked[interaction_id] = current
        channel = self.channels[message["channel_id"]]
        await self.dispatch(
            "INTERACTION_CREATE",
            {
                "id": interaction_id,
                "application_id": self.app_id,
                "type": 3,
                "token": token,
                "version": 1,
                "data": {"custom_id": custom_id, "component_type": 2},
                "message": {k: v for k, v in current.items() if not k.startswith("_")},
                "guild_id": self.guild_id,
                "channel_id": channel["id"],
                "channel": channel,
                "member": self.member(user, manage_guild=manage_guild),
                "app_permissions": ALL_PERMISSIONS,
                "attachment_size_limit": 10 * 1024 * 1024,
                "locale": "en-US",
                "guild_locale": "en-US",
                "entitlements": [],
                "authorizing_integration_owners": {"0": self.guild_id},
                "context": 0,
            },
        )
        return token

    # ----- what the bot did -----
    def bot_messages(self, channel: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        chans = [channel["id"]] if channel else list(self.messages)
        out = [m for c in chans for m in self.messages[c].values() if m["author"]["id"] == self.bot["id"]]
        return sorted(out, key=lambda m: int(m["id"]))

    def calls(self, method: str, contains: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == method and contains in r.path]

    async def wait_for_bot_message(self, predicate: Any = None, timeout: float = GUARD_S) -> dict[str, Any]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.message_waiters.append((predicate or (lambda m: True), fut))
        return await asyncio.wait_for(fut, timeout)

    async def wait_until(self, check: Any, timeout: float = GUARD_S) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.02)

    def _notify(self, msg: dict[str, Any]) -> None:
        for pred, fut in list(self.message_waiters):
            if not fut.done() and pred(msg):
                fut.set_result(msg)
                self.message_waiters.remove((pred, fut))

    # ----- REST -----
    def _bucket_key(self, method: str, parts: list[str]) -> str | None:
        # As on Discord: posting and editing messages in one channel share one bucket.
        # (Opening a thread from a message, POST …/messages/{id}/threads, has a bucket of its own.)
        if len(parts) in (3, 4) and parts[0] == "channels" and parts[2] == "messages" and method in ("POST", "PATCH"):
            return f"channels/{parts[1]}/messages"
        if len(parts) >= 3 and parts[0] == "webhooks" and parts[1] in self.webhooks and method in ("POST", "PATCH"):
            # A webhook's posts and edits count against its channel, as the bot's own do.
            return f"channels/{self.webhooks[parts[1]]['channel_id']}/messages"
        return None

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["tail"]
        parts = path.split("/")
        method = request.method
        body = await self._body(request)
        record = Request(method, path, body, time.monotonic())
        self.requests.append(record)
        headers: dict[str, str] = {}
        key = self._bucket_key(method, parts)
        if key is not None:
            bucket = self._buckets.setdefault(key, Bucket(*self.message_limit))
            allowed, remaining, reset_after = bucket.take()
            headers = {
                "X-RateLimit-Limit": str(bucket.limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Bucket": key,
            }
            if not allowed:
                self.status_429 += 1
                record.status = 429
                headers["Retry-After"] = f"{reset_after:.3f}"
                headers["Via"] = "1.1 google"  # real 429s come through Discord's proxy; discord.py checks it
                headers["X-RateLimit-Scope"] = "user"
                return json_response(
                    {"message": "You are being rate limited.", "retry_after": reset_after, "global": False},
                    status=429,
                    headers=headers,
                )
        failing = self.failing_posts.get(parts[1]) if len(parts) == 3 and parts[0] == "channels" else None
        if failing is not None and method == "POST" and parts[2] == "messages":
            record.status = failing
            return json_response({"message": "Service unavailable", "code": 0}, status=failing)
        if self.reads_open is not None and method == "GET" and parts[0] == "channels" and "messages" in parts:
            await self.reads_open.wait()
        try:
            result = await self._route(method, parts, body, request)
        except KeyError:
            record.status = 404
            return json_response({"message": "Unknown", "code": 10008}, status=404, headers=headers)
        except DiscordError as exc:
            record.status = exc.status
            return json_response(exc.payload, status=exc.status, headers=headers)
        if result is None:
            record.status = 204
            return web.Response(status=204, headers=headers)
        return json_response(result, headers=headers)

    async def _body(self, request: web.Request) -> Any:
        if request.content_type == "application/json":
            return await request.json()
        if request.content_type.startswith("multipart/"):
            data: dict[str, Any] = {"files": []}
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    data.update(json.loads(await part.text()))
                else:
                    content = await part.read()
                    data["files"].append({"name": part.name, "filename": part.filename, "bytes": bytes(content)})
            return data
        return None

    async def _route(self, method: str, p: list[str], body: Any, request: web.Request) -> Any:
        if p == ["gateway"] or p == ["gateway", "bot"]:
            return {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
            }
        if p == ["users", "@me"]:
            return self.bot
        if p == ["users", "@me", "channels"] and method == "POST":
            return self.dm_channel(str(body["recipient_id"]))
        if len(p) == 2 and p[0] == "users" and method == "GET":
            if p[1] not in self.users:
                raise DiscordError(404, {"message": "Unknown User", "code": 10013})
            return self.users[p[1]]
        if p == ["oauth2", "applications", "@me"] or p == ["applications", "@me"]:
            return {
                "id": self.app_id,
                "name": "Observer",
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner,
                "summary": "",
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "bot": self.bot,
            }
        if p[:2] == ["applications", self.app_id] and p[-1] == "commands" and method == "PUT":
            scope = p[3] if len(p) == 5 else "global"
            self.commands[scope] = [
                {
                    **c,
                    "id": snowflake(),
                    "application_id": self.app_id,
                    "version": "1",
                    "default_member_permissions": c.get("default_member_permissions"),
                    "type": c.get("type", 1),
                }
                for c in body
            ]
            return self.commands[scope]
        if p[:2] == ["applications", self.app_id] and p[-1] == "commands" and method == "GET":
            return self.commands.get(p[3] if len(p) == 5 else "global", [])
        if p[0] == "channels":
            return await self._channel_route(method, p, body, request)
        if p[0] == "interactions" and p[-1] == "callback":
            self.interaction_responses[p[2]].append(body)
            clicked = self._clicked.get(p[1])
            if body["type"] == 7 and clicked is not None:  # UPDATE_MESSAGE: the clicked message changes
                data = body.get("data") or {}
                msg = self.messages[clicked["channel_id"]][clicked["id"]]
                for key in ("content", "components", "embeds"):
                    if key in data:
                        msg[key] = data[key] or ([] if key != "content" else "")
                msg.setdefault("_shown", []).append((time.monotonic(), shown_text(msg)))
                shown = {k: v for k, v in msg.items() if not k.startswith("_")}
                await self.dispatch("MESSAGE_UPDATE", shown)
                if request.query.get("with_response") not in ("true", "True", "1"):
                    return None
                return {
                    "interaction": {
                        "id": p[1],
                        "type": 3,
                        "response_message_id": msg["id"],
                        "response_message_loading": False,
                        "response_message_ephemeral": False,
                    },
                    "resource": {"type": 7, "message": shown},
                }
            if request.query.get("with_response") not in ("true", "True", "1"):
                return None
            data = body.get("data") or {}
            ephemeral = bool(data.get("flags", 0) & 64)
            resource: dict[str, Any] = {"type": body["type"]}
            if body["type"] in (4, 5):
                resource["message"] = self.message_payload(
                    self.general["id"], self.bot, data.get("content") or "", flags=data.get("flags", 0)
                )
            return {
                "interaction": {
                    "id": p[1],
                    "type": 2,
                    "response_message_id": resource.get("message", {}).get("id"),
                    "response_message_loading": body["type"] == 5,
                    "response_message_ephemeral": ephemeral,
                },
                "resource": resource,
            }
        if p[0] == "webhooks" and p[1] in self.webhooks:
            return await self._webhook_route(method, p, body, request)
        if p[0] == "webhooks":
            token = p[2]
            if method == "PATCH" and p[-1] == "@original":
                self.interaction_responses[token].append({"edit": body})
                return {
                    **self.message_payload(self.general["id"], self.bot, body.get("content") or ""),
                    "id": snowflake(),
                }
            if method == "GET":
                return self.message_payload(self.general["id"], self.bot, "")
            if method == "POST":
                self.interaction_responses[token].append({"followup": body})
                return self.message_payload(self.general["id"], self.bot, body.get("content") or "")
        raise KeyError(p)

    async def _start_thread(self, channel_id: str, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /channels/{id}/messages/{id}/threads: a public thread from a message, as Discord checks it."""
        parent = self.channels[channel_id]
        if parent["type"] not in (0, 5):
            raise DiscordError(400, {"message": "Cannot execute action on this channel type", "code": 50024})
        if message_id not in self.messages[channel_id]:
            raise KeyError(message_id)
        if not self.bot_permissions(parent) & CREATE_PUBLIC_THREADS:
            raise self._forbidden()
        if message_id in self.channels:
            raise DiscordError(400, THREAD_EXISTS)
        thread = self._new_thread(message_id, str(body.get("name") or ""), parent, self.bot)
        thread["thread_metadata"]["auto_archive_duration"] = body.get("auto_archive_duration", 1440)
        self.messages[channel_id][message_id]["thread"] = thread
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    def _forbidden(self) -> DiscordError:
        return DiscordError(403, {"message": "Missing Permissions", "code": 50013})

    async def _webhook_route(self, method: str, p: list[str], body: Any, request: web.Request) -> Any:
        """Execute (`wait=true` returns the message) and edit a webhook's message, as Discord does."""
        hook = self.webhooks[p[1]]
        if len(p) < 3 or p[2] != hook["token"]:
            raise DiscordError(401, {"message": "Invalid Webhook Token", "code": 50027})
        store = self.messages[hook["channel_id"]]
        author = {
            "id": hook["id"],
            "username": body.get("username") or hook["name"] if body else hook["name"],
            "discriminator": "0000",
            "avatar": hook["avatar"],
            "bot": True,
        }
        if len(p) == 3 and method == "POST":
            msg = self.message_payload(hook["channel_id"], author, body.get("content") or "", webhook_id=hook["id"])
            msg["allowed_mentions"] = body.get("allowed_mentions")
            msg["_posted_at"] = time.monotonic()
            msg["_shown"] = [(msg["_posted_at"], shown_text(msg))]
            store[msg["id"]] = msg
            self._notify(msg)
            shown = {k: v for k, v in msg.items() if not k.startswith("_")}
            await self.dispatch("MESSAGE_CREATE", shown)
            return shown if request.query.get("wait") in ("true", "True", "1") else None
        if len(p) == 5 and p[3] == "messages" and method == "PATCH":
            msg = store[p[4]]
            if msg.get("webhook_id") != hook["id"]:
                raise KeyError(p)
            msg.update(content=body.get("content") or "", edited_timestamp=now_iso())
            msg["_shown"].append((time.monotonic(), shown_text(msg)))
            shown = {k: v for k, v in msg.items() if not k.startswith("_")}
            await self.dispatch("MESSAGE_UPDATE", shown)
            return shown
        if len(p) == 5 and p[3] == "messages" and method == "DELETE":
            store.pop(p[4], None)
            return None
        raise KeyError(p)

    def webhook_messages(self, channel: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        chans = [channel["id"]] if channel else list(self.messages)
        out = [m for c in chans for m in self.messages[c].values() if m.get("webhook_id") in self.webhooks]
        return sorted(out, key=lambda m: int(m["id"]))

    async def _channel_route(self, method: str, p: list[str], body: Any, request: web.Request) -> Any:
        channel_id = p[1]
        if len(p) == 2 and method == "GET":
            return self.channels[channel_id]
        if p[2:] == ["webhooks"]:
            if not self.webhooks_allowed:
                raise self._forbidden()
            if method == "GET":
                return [
                    {k: v for k, v in h.items() if not k.startswith("_")}
                    for h in self.webhooks.values()
                    if h["channel_id"] == channel_id
                ]
            hook = {
                "id": snowflake(),
                "type": 1,
                "token": "wh" + snowflake(),
                "channel_id": channel_id,
                "guild_id": self.guild_id,
                "name": body["name"],
                "avatar": ("a" + snowflake()) if body.get("avatar") else None,
                "application_id": self.app_id,
                "user": self.bot,
            }
            hook["_avatar_data"] = body.get("avatar")
            self.webhooks[hook["id"]] = hook
            return {k: v for k, v in hook.items() if not k.startswith("_")}
        if p[2:] == ["typing"]:
            self.typing.append(channel_id)
            return None
        if p[2] != "messages":
            raise KeyError(p)
        if len(p) == 5 and p[4] == "threads" and method == "POST":
            return await self._start_thread(channel_id, p[3], body)
        channel = self.channels.get(channel_id)
        meta = (channel or {}).get("thread_metadata")
        if meta is not None and method in ("POST", "PATCH"):
            # As Discord: the bot writes in a thread only with Send Messages in Threads, never in an
            # archived one (it would have to reopen it first), nor in a locked one.
            if not self.bot_permissions(channel or {}) & SEND_MESSAGES_IN_THREADS:
                raise self._forbidden()
            if meta["locked"]:
                raise DiscordError(403, THREAD_LOCKED)
            if meta["archived"]:
                raise DiscordError(400, THREAD_ARCHIVED)
        if method == "GET" and channel_id in self.closed_to_bot:
            raise DiscordError(403, {"message": "Missing Access", "code": 50001})
        store = self.messages[channel_id]
        if len(p) == 3 and method == "POST":
            extra: dict[str, Any] = {}
            ref = body.get("message_reference")
            if ref:
                ref = {k: str(v) if k.endswith("_id") and v is not None else v for k, v in ref.items()}
                target = store.get(str(ref["message_id"]))
                if target is None and ref.get("fail_if_not_exists", True):
                    # As Discord: a reply to a deleted message is refused, unless asked not to fail.
                    self.refused_replies += 1
                    raise DiscordError(400, UNKNOWN_REFERENCE)
                if target is not None:
                    extra = {
                        "type": 19,
                        "message_reference": {**ref, "channel_id": channel_id},
                        "referenced_message": target,
                    }
            msg = self.message_payload(channel_id, self.bot, body.get("content") or "", **extra)
            msg["allowed_mentions"] = body.get("allowed_mentions")
            msg["flags"] = body.get("flags", 0)
            msg["embeds"] = body.get("embeds") or []
            msg["components"] = body.get("components") or []
            msg["attachments"] = [
                {
                    "id": snowflake(),
                    "filename": f["filename"],
                    "size": len(f["bytes"]),
                    "url": "",
                    "proxy_url": "",
                    "content_type": "audio/ogg",
                    **{
                        k: v
                        for k, v in (body.get("attachments") or [{}])[i].items()
                        if k in ("duration_secs", "waveform")
                    },
                }
                for i, f in enumerate(body.get("files", []))
            ]
            msg["_files"] = body.get("files", [])
            msg["_posted_at"] = time.monotonic()
            msg["_shown"] = [(msg["_posted_at"], shown_text(msg))]
            store[msg["id"]] = msg
            self._notify(msg)
            await self.dispatch("MESSAGE_CREATE", {k: v for k, v in msg.items() if not k.startswith("_")})
            return {k: v for k, v in msg.items() if not k.startswith("_")}
        if len(p) == 3 and method == "GET":
            # Discord's history: newest first before `before`; with `after`, the oldest `limit` after it
            # (still listed newest first); `limit` at most 100.
            limit = min(int(request.query.get("limit", 50)), 100)
            before, after = request.query.get("before"), request.query.get("after")
            msgs = sorted(store.values(), key=lambda m: int(m["id"]))
            if before:
                msgs = [m for m in msgs if int(m["id"]) < int(before)]
            if after:
                msgs = [m for m in msgs if int(m["id"]) > int(after)][:limit]
            else:
                msgs = msgs[-limit:]
            return [{k: v for k, v in m.items() if not k.startswith("_")} for m in reversed(msgs)]
        message_id = p[3]
        if method == "GET":
            return {k: v for k, v in store[message_id].items() if not k.startswith("_")}
        if method == "PATCH":
            msg = store[message_id]
            if "content" in body:
                msg["content"] = body["content"]
            if "embeds" in body:
                msg["embeds"] = body["embeds"] or []
            if "components" in body:
                msg["components"] = body["components"] or []
            msg["edited_timestamp"] = now_iso()
            msg.setdefault("_edits", []).append((time.monotonic(), body.get("content")))
            msg.setdefault("_shown", []).append((time.monotonic(), shown_text(msg)))
            await self.dispatch("MESSAGE_UPDATE", {k: v for k, v in msg.items() if not k.startswith("_")})
            return {k: v for k, v in msg.items() if not k.startswith("_")}
        if method == "DELETE":
            store.pop(message_id)
            return None
        raise KeyError(p)
