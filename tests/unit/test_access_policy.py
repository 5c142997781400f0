from __future__ import annotations

import pytest

from agent.access.ledger import UsageLedger
from agent.access.policy import NO_LIMIT, AccessPolicy, QuotaPolicy, overlay_quotas, refusal
from agent.access.quota import over_quota
from agent.config import load_config
from agent.errors import ConfigError
from agent.events import Event, event_from_names
from agent.ids import stable_id
from agent.rights import MemberRights
from tests.conftest import make_event


def test_a_members_limits_are_the_most_generous_of_their_roles() -> None:
    policy = QuotaPolicy.model_validate(
        {
            "replies_per_hour": 20,
            "tokens_per_day": 50000,
            "role": [{"role": 1, "replies_per_hour": 100}, {"role": 2, "replies_per_hour": 50, "tokens_per_day": 9}],
        }
    )
    assert policy.limits_for([1, 2]).replies_per_hour == 100
    assert policy.limits_for([2]).tokens_per_day == 9, "a role's own value, even a lower one"
    assert policy.limits_for([1]).tokens_per_day == 50000, "what a role leaves unset stays the default"
    assert policy.limits_for(None).replies_per_hour == 20


def test_a_server_can_lift_a_file_limit() -> None:
    base = QuotaPolicy(replies_per_hour=3)
    lifted = overlay_quotas(base, {"replies_per_hour": NO_LIMIT, "role": [{"role": 7, "usd_per_day": 1.5}]})
    assert lifted.replies_per_hour is None and lifted.limits_for([7]).usd_per_day == 1.5


def test_channel_lists_match_the_thread_parent_and_category() -> None:
    policy = AccessPolicy(allow_channels=[500])
    inside = make_event("hi", rights=MemberRights(channel_parents=[400, 500], places_known=True, role_ids=[]))
    assert refusal(policy, inside) is None
    assert refusal(policy, make_event("hi", rights=MemberRights(places_known=True))) == (
        "the channel is not on the allow list"
    )
    assert refusal(AccessPolicy(block_channels=[500]), inside) == "the channel is blocked"
    roles = AccessPolicy(allow_roles=[9])
    assert refusal(roles, make_event("hi", rights=MemberRights(role_ids=[], places_known=True)))
    assert refusal(roles, make_event("hi")) is None, "the console's operator is not held to role lists"


def test_rights_a_door_left_out_fail_closed() -> None:
    """A run built without rights (a door that forgot them, a run resumed from before they were
    stored): no role, only its own channel readable, no management, and channel lists refuse."""
    event = make_event("hi", rights=MemberRights())
    assert refusal(AccessPolicy(allow_roles=[9]), event) == "the member has none of the allowed roles"
    assert refusal(AccessPolicy(block_channels=[1]), event) is not None, "a blocked category cannot be ruled out"
    assert event.rights.readable_channels(event.channel_id) == [event.channel_id]
    assert not event.rights.manages(admin_roles=[9])
    restored = Event.model_validate(event.model_dump(mode="json"))
    assert restored.rights == event.rights
    legacy = {k: v for k, v in event.model_dump().items() if k != "rights"} | {"readable_channel_ids": None}
    assert Event.model_validate(legacy).rights.readable_channels(event.channel_id) == [event.channel_id], (
        "a checkpoint from before rights were stored reads only its own channel, never every channel"
    )


def test_quota_waits_until_enough_old_spend_leaves_the_day() -> None:
    ledger = UsageLedger()
    row = {"guild_id": 1, "user_id": 2, "purpose": "reply", "ok": True, "cost_usd": 0.0}
    ledger.note({**row, "message_id": 10, "tokens_in": 60, "tokens_out": 0}, when=1000.0)
    ledger.note({**row, "message_id": 11, "tokens_in": 60, "tokens_out": 0}, when=2000.0)
    over = over_quota(QuotaPolicy(tokens_per_day=100), ledger, (1, 2), now=3000.0)
    assert over is not None and over.free_at == 1000.0 + 86400, "after the first call leaves the window: 60 < 100"
    assert over_quota(QuotaPolicy(tokens_per_day=100), ledger, (1, 2), now=1000.0 + 86401) is None


def test_quota_mistakes_in_the_file_are_one_clear_error(tmp_path) -> None:
    path = tmp_path / "observer.toml"
    path.write_text("[quotas]\nreplies_per_hour = -1\n")
    with pytest.raises(ConfigError, match="replies_per_hour"):
        load_config(path)


@pytest.mark.parametrize(
    ("rule", "lists", "refused"),
    [
        ("allow_roles", {"allow_roles": [9]}, False),  # the operator is not held to role lists
        ("block_users", {"block_users": [stable_id("user", "ana")]}, True),
        ("allow_channels", {"allow_channels": [stable_id("channel", "elsewhere")]}, True),
        ("block_channels", {"block_channels": [stable_id("channel", "general")]}, True),
    ],
)
def test_the_console_door_builds_rights_from_its_author_name(rule: str, lists: dict, refused: bool) -> None:
    """The console's door: rights from the typed author name (the operator's), through the same rules."""
    event = event_from_names("console", text="@Observer hi", author="ana", channel="general", bot_name="Observer")
    assert (refusal(AccessPolicy(**lists), event) is not None) is refused, rule
    assert event.rights.readable_channels(event.channel_id) is None, "the operator may search the whole record"
    assert not event.rights.can_manage, "admin-only tools need Manage Server, which the console does not claim"
