"""A fake OpenAI-compatible server on loopback: what the real `openai` client talks to in tests.

Script it per request: `server.push(Reply("hi"), Fail(429, retry_after=3), Hang(5), Cut("half"))`.
With the script empty it answers `default_reply`, or for structured output `default_json`.
Every request body is kept in `server.requests` for assertions.

`flavour` makes it as strict as a real server family:
- "openai": honours `max_completion_tokens` (or `max_tokens`).
- "ollama" / "lmstudio": honour only `max_tokens`.
- "llamacpp": honours only `max_tokens`; refuses `json_schema` response formats with HTTP 500 as
  llama-cpp-python's server does; JSON mode without a `schema` answers JSON of the wrong shape;
  streamed tool calls repeat the function name in every chunk.
- "unbounded": honours no limit at all.

Faults real servers have: `reject_keys` answers every chat request 401 echoing the key it received
(as some proxies do: `Invalid API key in header 'Authorization: Bearer sk-…'`); `context_window` makes
the server's real window smaller than configured: a request whose prompt (≈ characters / 4) plus its
output cap does not fit is refused with HTTP 400 in the family's own words (`overflow_family`:
"openai", "vllm", "llamacpp", "ollama", "lmstudio"; the flavour's by default). With `report_window`
the window is also on the family's info endpoint: llama.cpp `GET /props`, Ollama `POST /api/show`,
vLLM `GET /v1/models` (`max_model_len`), LM Studio `GET /api/v0/models` (`loaded_context_length`).

Reasoning models: `Reply(text, reasoning=..., reasoning_as=...)` thinks before answering, in the field a
server family uses (`reasoning_content`: llama.cpp, DeepSeek, older vLLM, LM Studio; `reasoning`: Ollama,
OpenRouter, newer vLLM; `reasoning_details`: OpenRouter; `thinking`) or inline in the content (`think_tags`:
`<think>…</think>`, Qwen3/DeepSeek R1 on llama.cpp without a reasoning parser; `open_think`: the chat
template opened the block, so only `</think>` shows), or `hidden` as OpenAI's own API does (the reasoning
tokens count, in usage's `reasoning_tokens`, but their text is never sent). Reasoning counts in the token limit, as on every
real server; a reply cut by the limit ends with finish_reason "length". `piece_chars` streams the
content in pieces of that many characters, so tags split across chunks.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    text: str | None = None
    json_obj: dict[str, Any] | None = None  # structured output: sent as the message content
    tool_call: tuple[str, dict[str, Any]] | None = None  # (function name, arguments)
    # Several calls in one turn: (function name, arguments, or a raw string such as broken JSON).
    tool_calls: list[tuple[str, dict[str, Any] | str]] | None = None
    raw: str | None = None  # send this content verbatim (malformed JSON, for example)
    reasoning: str | None = None  # what the model thinks before it answers
    reasoning_as: str = "reasoning_content"  # the delta field, or "think_tags" / "open_think" (inline)
    piece_chars: int = 0  # stream the content in pieces of this many characters (0: word by word)


@dataclass
class Fail:
    status: int
    retry_after: float | None = None
    message: str = "fake failure"


@dataclass
class Hang:
    seconds: float


@dataclass
class Html:
    """HTTP 200 with an HTML page, as a captive portal or a misconfigured proxy answers."""

    page: str = "<html><body><h1>Welcome to nginx!</h1></body></html>"


@dataclass
class Drip:
    """Stream `text` one piece every `every_s` seconds (a model server crawling under load)."""

    text: str
    every_s: float


@dataclass
class Cut:
    """Stream `text`, then drop the connection without [DONE]."""

    text: str


def _bag_of_words(text: str, dims: int = 64) -> list[float]:
    vec = [0.0] * dims
    for word in text.lower().split():
        vec[zlib.crc32(word.strip(".,!?").encode()) % dims] += 1.0
    norm = sum(v * v for v in vec) ** 0.5 or 1.0
    return [v / norm for v in vec]


@dataclass
class FakeOpenAI:
    default_reply: str = "Hello from the fake model. Nice to meet you!"
    default_json: dict[str, Any] = field(
        default_factory=lambda: {"respond": False, "voice": False, "reason": "chatter"}
    )
    token_delay_s: float = 0.0
    first_token_delay_s: float = 0.0
    flavour: str = "openai"
    script: list[Any] = field(default_factory=list)
    # Optional: decide the answer from the request itself (checked when the script is empty).
    responder: Any = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)
    # Set to an unset Event to hold every chat request (once recorded) until the test sets it.
    gate: asyncio.Event | None = None
    # Benchmarks: one JSON line per streamed request (arrival, first token, the last user message's text).
    request_log: Path | None = None
    reject_keys: bool = False
    context_window: int | None = None
    overflow_family: str | None = None
    report_window: bool = False
    overflows: int = 0  # requests refused as too long
    # More endpoints on the same server (the fine-tuning fake's `install`), added at `start`.
    mounts: list[Any] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    def push(self, *behaviours: Any) -> None:
        self.script.extend(behaviours)

    def chat_requests(self, model: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if model is None or r.get("model") == model]

    async def start(self, host: str = "127.0.0.1", advertise: str | None = None) -> str:
        """Serve on `host`; `base_url` names `advertise` (a container reaches the host by another name)."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/props", self._props)
        app.router.add_post("/api/show", self._show)
        app.router.add_get("/api/v0/models", self._lmstudio_models)
        for install in self.mounts:
            install(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://{advertise or host}:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _embeddings(self, request: web.Request) -> web.Response:
        """Hashed bag-of-words vectors (64-dim): texts sharing words land near each other."""
        body = await request.json()
        self.embedding_requests.append(body)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": _bag_of_words(str(t))} for i, t in enumerate(inputs)]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )

    def _family(self) -> str:
        return self.overflow_family or {"llamacpp": "llamacpp", "ollama": "ollama", "lmstudio": "lmstudio"}.get(
            self.flavour, "openai"
        )

    def _reports(self, family: str) -> int | None:
        return self.context_window if self.report_window and self._family() == family else None

    async def _models(self, _request: web.Request) -> web.Response:
        entry: dict[str, Any] = {"id": "fake-model", "object": "model"}
        window = self._reports("vllm")
        if window is not None:
            models = {r.get("model") for r in self.requests} | {"fake-model"}
            data = [{"id": m, "object": "model", "max_model_len": window} for m in sorted(filter(None, models))]
            return web.json_response({"object": "list", "data": data})
        return web.json_response({"object": "list", "data": [entry]})

    async def _props(self, _request: web.Request) -> web.Response:
        window = self._reports("llamacpp")
        if window is None:
            return web.json_response({"error": {"code": 404, "message": "File Not Found"}}, status=404)
        return web.json_response({"default_generation_settings": {"n_ctx": window}, "total_slots": 1})

    async def _show(self, request: web.Request) -> web.Response:
        window = self._reports("ollama")
        if window is None:
            return web.Response(status=404, text="404 page not found")
        body = await request.json()
        return web.json_response(
            {
                "parameters": f"num_ctx                        {window}",
                "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
                "details": {"family": "llama"},
                "model": body.get("model"),
            }
        )

    async def _lmstudio_models(self, _request: web.Request) -> web.Response:
        window = self._reports("lmstudio")
        if window is None:
            return web.json_response({"error": "Unexpected endpoint or method. (GET /api/v0/models)"}, status=404)
        models = {r.get("model") for r in self.requests} | {"fake-model"}
        data = [
            {
                "id": m,
                "object": "model",
                "state": "loaded",
                "max_context_length": 131072,
                "loaded_context_length": window,
            }
            for m in sorted(filter(None, models))
        ]
        return web.json_response({"object": "list", "data": data})

    def _overflow(self, body: dict[str, Any]) -> web.Response | None:
        """HTTP 400 in the family's words when the prompt and the output cap exceed the real window."""
        if self.context_window is None:
            return None
        prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
        wanted = int(body.get("max_completion_tokens") or body.get("max_tokens") or 0)
        window = self.context_window
        if prompt + wanted <= window:
            return None
        self.overflows += 1
        family = self._family()
        if family == "llamacpp":
            error: Any = {
                "code": 400,
                "message": f"request ({prompt} tokens) exceeds the available context size ({window} tokens), "
                "try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": prompt,
                "n_ctx": window,
            }
            if self.report_window:  # older builds say only this; /props tells the window
                error = {
                    "code": 400,
                    "message": "the request exceeds the available context size, try increasing it",
                    "type": "exceed_context_size_error",
                }
            return web.json_response({"error": error}, status=400)
        if family == "vllm":
            message = (
                f"This model's maximum context length is {window} tokens. However, you requested "
                f"{prompt + wanted} tokens ({prompt} in the messages, {wanted} in the completion). "
                "Please reduce the length of the messages or completion."
            )
            if self.report_window:
                message = "Please reduce the length of the messages or completion."
                return web.json_response(
                    {"object": "error", "message": message, "type": "BadRequestError", "code": 400}, status=400
                )
            return web.json_response(
                {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": 400},
                status=400,
            )
        if family == "ollama":
            return web.json_response(
                {"error": {"message": "the input length exceeds the context length", "type": "api_error"}},
                status=400,
            )
        if family == "lmstudio":
            return web.json_response(
                {
                    "error": f"Trying to keep the first {prompt} tokens when context the overflows. However, the "
                    f"model is loaded with context length of only {window} tokens, which is not enough. Try to "
                    "load the model with a larger context length, or provide a shorter input"
                },
                status=400,
            )
        return web.json_response(
            {
                "error": {
                    "message": f"This model's maximum context length is {window} tokens. However, your messages "
                    f"resulted in {prompt + wanted} tokens. Please reduce the length of the messages.",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            },
            status=400,
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        body = await request.json()
        self.requests.append(body)
        if self.gate is not None:
            await self.gate.wait()
        behaviour = self.script.pop(0) if self.script else None
        if behaviour is None and self.responder is not None:
            behaviour = self.responder(body)
        if self.reject_keys:
            # Some servers and proxies echo the key they were sent: it must go no further than the bot's log.
            sent = request.headers.get("Authorization", "")
            return web.json_response(
                {
                    "error": {
                        "message": f"Invalid API key in header 'Authorization: {sent}'",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
                status=401,
            )
        overflow = self._overflow(body)
        if overflow is not None:
            return overflow
        problem = _tool_turn_problem(body.get("messages") or [])
        if problem is not None:  # as strict as OpenAI's own API
            return web.json_response({"error": {"message": problem, "type": "invalid_request_error"}}, status=400)
        if isinstance(behaviour, Fail):
            headers = {"Retry-After": f"{behaviour.retry_after:g}"} if behaviour.retry_after is not None else {}
            return web.json_response(
                {"error": {"message": behaviour.message, "type": "fake", "code": behaviour.status}},
                status=behaviour.status,
                headers=headers,
            )
        if isinstance(behaviour, Hang):
            await asyncio.sleep(behaviour.seconds)
            behaviour = None
        if isinstance(behaviour, Html):
            return web.Response(text=behaviour.page, content_type="text/html")
        response_format = body.get("response_format") or {}
        if self.flavour == "llamacpp" and response_format.get("type") not in (None, "text", "json_object"):
            return web.json_response(
                {
                    "error": {
                        "message": "1 validation error: response_format.type: Input should be 'text' or 'json_object'",
                        "type": "internal_server_error",
                    }
                },
                status=500,
            )
        reply = behaviour if isinstance(behaviour, Reply | Cut | Drip) else None
        content, tool_call = self._content_for(body, reply)
        thinking = reply if isinstance(reply, Reply) and reply.reasoning is not None else None
        if body.get("stream"):
            every = behaviour.every_s if isinstance(behaviour, Drip) else None
            return await self._stream(
                request,
                body,
                content,
                tool_call,
                cut=isinstance(behaviour, Cut),
                every_s=every,
                arrived=arrived,
                thinking=thinking,
            )
        return web.json_response(self._completion(body, content, tool_call, thinking))

    def token_limit(self, body: dict[str, Any]) -> int | None:
        """The output cap this server family reads from the request."""
        if self.flavour == "unbounded":
            return None
        if self.flavour in ("ollama", "lmstudio", "llamacpp"):
            return body.get("max_tokens")
        return body.get("max_completion_tokens") or body.get("max_tokens")

    def _content_for(self, body: dict[str, Any], reply: Reply | Cut | Drip | None) -> tuple[str, Any]:
        if isinstance(reply, Cut | Drip):
            return reply.text, None
        if reply is not None and reply.raw is not None:
            return reply.raw, None
        if reply is not None and reply.tool_calls is not None:
            return reply.text or "", [(n, a if isinstance(a, str) else json.dumps(a)) for n, a in reply.tool_calls]
        if reply is not None and reply.tool_call is not None:
            return "", [(reply.tool_call[0], json.dumps(reply.tool_call[1]))]
        response_format = body.get("response_format") or {}
        structured = response_format.get("type") in ("json_schema", "json_object")
        if (
            self.flavour == "llamacpp"
            and response_format.get("type") == "json_object"
            and "schema" not in response_format
        ):
            return json.dumps({"answer": "yes", "confidence": 0.9}), None  # valid JSON, not the caller's shape
        if reply is not None and reply.json_obj is not None:
            return json.dumps(reply.json_obj), None
        if structured:
            return json.dumps(self._fill_defaults(body)), None
        if body.get("tools") and body.get("tool_choice"):
            name = body["tools"][0]["function"]["name"]
            return "", [(name, json.dumps(self._fill_defaults(body)))]
        return (reply.text if reply is not None and reply.text is not None else self.default_reply), None

    def _fill_defaults(self, body: dict[str, Any]) -> dict[str, Any]:
        """default_json, with `model` filled from the schema's allowed names when not given."""
        obj = dict(self.default_json)
        if "model" not in obj:
            response_format = body.get("response_format") or {}
            schema = (
                response_format.get("json_schema", {}).get("schema")
                or response_format.get("schema")  # llama.cpp's JSON mode with a schema
                or (body.get("tools") or [{}])[0].get("function", {}).get("parameters", {})
            )
            allowed = schema.get("properties", {}).get("model", {}).get("enum") or ["?"]
            obj["model"] = allowed[0]
        return obj

    @staticmethod
    def _usage(body: dict[str, Any], content: str, reasoning: str = "") -> dict[str, Any]:
        prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
        thought = len(reasoning) // 4
        completion = max(len(content) // 4 + thought, 1)
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": thought}
        return usage

    @staticmethod
    def _inline(content: str, thinking: Reply) -> str:
        """The content as a server without a reasoning parser sends it: the think block inside."""
        if thinking.reasoning_as == "think_tags":
            return f"<think>{thinking.reasoning}</think>\n\n{content}"
        return f"{thinking.reasoning}\n</think>\n\n{content}"  # open_think: the template opened it

    @staticmethod
    def _reasoning_delta(thinking: Reply, text: str) -> dict[str, Any]:
        if thinking.reasoning_as == "reasoning_details":  # OpenRouter sends both
            return {"reasoning": text, "reasoning_details": [{"type": "reasoning.text", "text": text}]}
        return {thinking.reasoning_as: text}

    def _completion(
        self, body: dict[str, Any], content: str, tool_call: Any, thinking: Reply | None = None
    ) -> dict[str, Any]:
        reasoning = thinking.reasoning or "" if thinking is not None else ""
        finish = "tool_calls" if tool_call else "stop"
        limit = self.token_limit(body)
        if thinking is not None and limit is not None and len(_pieces(reasoning)) >= limit:
            # The whole budget went to thinking: no answer, cut at the limit.
            reasoning, content, finish = "".join(_pieces(reasoning)[:limit]), "", "length"
            if thinking.reasoning_as == "think_tags":
                content, thinking = f"<think>{reasoning}", None
        elif thinking is not None and thinking.reasoning_as in ("think_tags", "open_think"):
            content = self._inline(content, thinking)
        message: dict[str, Any] = {"role": "assistant", "content": content or None}
        if thinking is not None and thinking.reasoning_as not in ("think_tags", "open_think", "hidden"):
            message.update(self._reasoning_delta(thinking, reasoning))
        if tool_call:
            message["tool_calls"] = [
                {"id": f"call_{i + 1}", "type": "function", "function": {"name": name, "arguments": args}}
                for i, (name, args) in enumerate(tool_call)
            ]
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": self._usage(body, content, reasoning),
        }

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        content: str,
        tool_call: Any,
        cut: bool,
        every_s: float | None = None,
        arrived: float = 0.0,
        thinking: Reply | None = None,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        model = body.get("model", "fake")

        async def send(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> None:
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())

        finish, reasoning = "stop", ""
        try:
            if self.first_token_delay_s:
                await asyncio.sleep(self.first_token_delay_s)
            await send({"role": "assistant", "content": ""})
            if tool_call:
                if content:  # some models say a few words before calling
                    await send({"content": content})
                for n, (name, args) in enumerate(tool_call):
                    await send(
                        {
                            "tool_calls": [
                                {
                                    "index": n,
                                    "id": f"call_{n + 1}",
                                    "type": "function",
                                    "function": {"name": name, "arguments": ""},
                                }
                            ]
                        }
                    )
                    for i in range(0, len(args), 16):
                        function: dict[str, Any] = {"arguments": args[i : i + 16]}
                        if self.flavour == "llamacpp":
                            function["name"] = name  # llama.cpp repeats it; clients that concatenate break
                        await send({"tool_calls": [{"index": n, "function": function}]})
            else:
                # (delta field, piece): the reasoning first, in its field or inline, then the answer.
                events: list[tuple[str, str]] = []
                inline = thinking is not None and thinking.reasoning_as in ("think_tags", "open_think")
                if thinking is not None and not inline:
                    events += [("reasoning", p) for p in _pieces(thinking.reasoning or "")]
                said = self._inline(content, thinking) if thinking is not None and inline else content
                size = thinking.piece_chars if thinking is not None else 0
                events += [("content", p) for p in (_chars(said, size) if size else _pieces(said))]
                limit = self.token_limit(body)
                if limit is not None and len(events) > limit:
                    events, finish = events[:limit], "length"  # reasoning counts in the limit
                content = "".join(p for kind, p in events if kind == "content")
                reasoning = "".join(p for kind, p in events if kind == "reasoning")
                for i, (kind, piece) in enumerate(events):
                    if every_s is not None:
                        await asyncio.sleep(every_s)
                    elif self.token_delay_s:
                        await asyncio.sleep(self.token_delay_s)
                    if kind == "content" or thinking is None:
                        await send({"content": piece})
                    elif thinking.reasoning_as != "hidden":  # OpenAI: reasoning tokens, never their text
                        await send(self._reasoning_delta(thinking, piece))
                    if i == 0 and self.request_log is not None:
                        self._log_request(body, arrived)
                    if cut and i >= len(events) // 2:
                        # Drop the socket mid-stream, as a crashed upstream would.
                        assert request.transport is not None
                        request.transport.close()
                        return resp
            await send({}, "tool_calls" if tool_call else finish)
            if body.get("stream_options", {}).get("include_usage"):
                usage_chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [],
                    "usage": self._usage(body, content, reasoning),
                }
                await resp.write(f"data: {json.dumps(usage_chunk)}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        except ConnectionResetError:  # the client went away mid-stream (a killed bot): nothing to finish
            return resp

    def _log_request(self, body: dict[str, Any], arrived: float) -> None:
        assert self.request_log is not None
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        last = users[-1].get("content") if users else ""
        line = {"arrived": arrived, "first_token": time.monotonic(), "last_user": json.dumps(last)}
        with self.request_log.open("a") as log:
            log.write(json.dumps(line) + "\n")


def _tool_turn_problem(messages: list[dict[str, Any]]) -> str | None:
    """OpenAI's rule: each `tool` message answers a call of the assistant message before it, and every
    call of an assistant message is answered before the conversation goes on."""
    open_calls: set[str] = set()
    for message in messages:
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in open_calls:
                return "messages with role 'tool' must be a response to a preceding message with 'tool_calls'"
            open_calls.discard(message["tool_call_id"])
            continue
        if open_calls:
            return f"an assistant message with 'tool_calls' must be followed by tool messages: {sorted(open_calls)}"
        if role == "assistant":
            open_calls = {c["id"] for c in message.get("tool_calls") or []}
    if open_calls:
        return f"tool calls without answers: {sorted(open_calls)}"
    return None


def _chars(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _pieces(text: str) -> list[str]:
    """Split like a tokenizer would, roughly: words with their spaces, CJK a character at a time."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ord(ch) > 0x2E80:
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        elif ch == " " and word:
            out.append(word)
            word = ch
        else:
            word += ch
    if word:
        out.append(word)
    return out


async def _serve_forever(
    port: int,
    first_token_delay_s: float,
    token_delay_s: float,
    reply_words: int = 0,
    outage_model: str = "",
    outage_s: float = 0.0,
    request_log: str = "",
) -> None:
    server = FakeOpenAI(first_token_delay_s=first_token_delay_s, token_delay_s=token_delay_s)
    server.request_log = Path(request_log) if request_log else None
    if reply_words:
        server.default_reply = " ".join(f"word{i}" for i in range(reply_words))
    if outage_model:
        ends = time.monotonic() + outage_s

        def outage(body: dict[str, Any]) -> Any:
            left = ends - time.monotonic()
            return Fail(429, retry_after=round(left, 1)) if body.get("model") == outage_model and left > 0 else None

        server.responder = outage
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server._chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1", flush=True)  # type: ignore[union-attr]
    await asyncio.Event().wait()


if __name__ == "__main__":
    # A separate process for benchmarks, so the server's own work is not counted as the bot's.
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--first-token-delay", type=float, default=0.02)
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--reply-words", type=int, default=0, help="answer with this many words instead")
    parser.add_argument("--outage-model", default="", help="this model id answers 429 ...")
    parser.add_argument("--outage-seconds", type=float, default=0.0, help="... for this long after start")
    parser.add_argument("--request-log", default="", help="append one JSON line per streamed request here")
    a = parser.parse_args()
    asyncio.run(
        _serve_forever(
            a.port,
            a.first_token_delay,
            a.token_delay,
            a.reply_words,
            a.outage_model,
            a.outage_seconds,
            a.request_log,
        )
    )
