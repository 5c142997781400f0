"""fetch_url's address rules and the `[web]` config: which addresses are refused, how the operator's
exceptions are written, and that both web tools are off until configured."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from agent.config import ObserverConfig, load_config
from agent.errors import ConfigError
from agent.tools.config import WebFetchSpec, WebToolsSpec, host_port
from agent.tools.web import web_tools
from agent.tools.web.guard import AddressGuard, non_public


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", None),  # reserved (Python versions differ on calling it private)
        ("100.64.0.1", "not public"),  # carrier-grade NAT
        ("192.0.2.1", None),  # documentation
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd00::5", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback (inside ::ffff:7f00:1)"),
        ("::ffff:10.0.0.1", "private (inside ::ffff:a00:1)"),
        ("::ffff:169.254.169.254", "link-local (inside ::ffff:a9fe:a9fe)"),
        ("64:ff9b::a00:1", "private (inside 64:ff9b::a00:1)"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback (inside 2002:7f00:1::)"),  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_addresses_are_named(address: str, kind: str | None) -> None:
    found = non_public(ipaddress.ip_address(address))
    assert found is not None
    if kind is not None:
        assert found == kind


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert non_public(ipaddress.ip_address(address)) is None


def test_allow_list_by_host_or_host_and_port() -> None:
    assert host_port("Wiki.LAN.") == ("wiki.lan", None)
    assert host_port("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert host_port("[fd00::5]:443") == ("fd00::5", 443)
    assert host_port("fd00::5") == ("fd00::5", None)
    for bad in ("http://wiki.lan", "wiki.lan:http", "host:0", "[::1]x", ""):
        with pytest.raises(ValueError):
            host_port(bad)

    spec = WebFetchSpec(enabled=True, allowed_private_hosts=["127.0.0.1:8080", "wiki.lan", "[fd00::5]:443"])
    guard = AddressGuard(spec.allowed())
    loopback = ipaddress.ip_address("127.0.0.1")
    assert guard.check("127.0.0.1", loopback, 8080) is None
    assert guard.check("localhost", loopback, 8080) is None  # the address is listed with this port
    assert guard.check("127.0.0.1", loopback, 8081) == "127.0.0.1 is a loopback address"
    assert guard.check("evil.example", loopback, 22) == "evil.example (127.0.0.1) is a loopback address"
    assert guard.check("wiki.lan", ipaddress.ip_address("10.0.0.7"), 80) is None  # any port of a listed name
    assert guard.check("fd00::5", ipaddress.ip_address("fd00::5"), 443) is None
    assert guard.check("fd00::5", ipaddress.ip_address("fd00::5"), 80) is not None


def test_web_tools_are_off_until_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert web_tools(ObserverConfig().web, 1000) == []
    on = WebToolsSpec.model_validate({"fetch": {"enabled": True}, "search": {"provider": "searxng", "url": "http://s"}})
    assert [t.name for t in web_tools(on, 1000)] == ["fetch_url", "web_search"]
    assert all(not t.confirm for t in web_tools(on, 1000))  # they only read: no approval asked

    config = tmp_path / "observer.toml"
    config.write_text('[web.search]\nprovider = "brave"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="needs `api_key_env`"):
        load_config(config)
    monkeypatch.delenv("OBSERVER_TEST_BRAVE_KEY", raising=False)
    config.write_text('[web.search]\nprovider = "brave"\napi_key_env = "OBSERVER_TEST_BRAVE_KEY"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\$OBSERVER_TEST_BRAVE_KEY, which is not set"):
        load_config(config)
    config.write_text("[web.fetch]\nenabeld = true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="web.fetch.enabeld: unknown field; did you mean 'enabled'"):
        load_config(config)
    config.write_text('[web.fetch]\nenabled = true\nallowed_private_hosts = ["http://wiki"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a host or host:port"):
        load_config(config)
