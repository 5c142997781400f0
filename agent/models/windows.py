"""A model's real context window, learned from its server when a request overflowed it.

Servers report it in different places: llama.cpp `GET /props` (`n_ctx`), Ollama `POST /api/show`
(`model_info["<arch>.context_length"]`, or `num_ctx` in its parameters), vLLM `GET /v1/models`
(`max_model_len`), LM Studio `GET /api/v0/models` (`loaded_context_length`). The first that answers wins.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from agent.models.config import ModelSpec
from agent.redact import redact

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0


def _root(base_url: str) -> str:
    return re.sub(r"/v1/?$", "", base_url.rstrip("/"))


def _positive(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 64 else None


def _from_props(body: Any, _model: str) -> int | None:
    if not isinstance(body, dict):
        return None
    settings = body.get("default_generation_settings")
    nested = settings.get("n_ctx") if isinstance(settings, dict) else None
    return _positive(body.get("n_ctx")) or _positive(nested)


def _from_show(body: Any, _model: str) -> int | None:
    if not isinstance(body, dict):
        return None
    match = re.search(r"num_ctx\s+(\d+)", str(body.get("parameters") or ""))
    if match:  # the window the server runs with, smaller than what the model was trained for
        return _positive(match.group(1))
    info = body.get("model_info")
    if isinstance(info, dict):
        for key, value in info.items():
            if str(key).endswith(".context_length"):
                return _positive(value)
    return None


def _from_models(field: str) -> Any:
    def read(body: Any, model: str) -> int | None:
        data = body.get("data") if isinstance(body, dict) else None
        for entry in data if isinstance(data, list) else []:
            if isinstance(entry, dict) and entry.get("id") == model:
                return _positive(entry.get(field))
        return None

    return read


async def probe_window(spec: ModelSpec) -> int | None:
    """Ask the model's server for its real window; None when no endpoint says."""
    if spec.provider != "openai" or not spec.base_url:
        return None
    root = _root(spec.base_url)
    key = spec.api_key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    probes: list[tuple[str, str, dict[str, Any] | None, Any]] = [
        ("GET", f"{root}/props", None, _from_props),
        ("POST", f"{root}/api/show", {"model": spec.model}, _from_show),
        ("GET", f"{spec.base_url.rstrip('/')}/models", None, _from_models("max_model_len")),
        ("GET", f"{root}/api/v0/models", None, _from_models("loaded_context_length")),
    ]
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, headers=headers) as client:
        for method, url, body, read in probes:
            try:
                response = await client.request(method, url, json=body)
                if response.status_code != 200:
                    continue
                window = read(response.json(), spec.model)
            except (httpx.HTTPError, ValueError) as exc:
                log.debug("window probe %s failed: %s", redact(url), redact(str(exc)))
                continue
            if window is not None:
                log.info("model %s: the server reports a context window of %d tokens", spec.name, window)
                return window
    return None
