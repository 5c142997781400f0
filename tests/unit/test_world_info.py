"""SillyTavern World Info: its files load, and entries turn on as SillyTavern documents it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from agent.memory.persona_files import PersonaCard, WorldBook, read_persona_or_knowledge
from agent.memory.world_info.activation import Candidate, Scan, activate, key_pattern
from agent.memory.world_info.rules import Logic, Rule

ELDORIA = Path(__file__).resolve().parents[1] / "data" / "world_info" / "eldoria.json"
_RAW = json.loads(ELDORIA.read_text(encoding="utf-8"))["entries"]
LABEL = {e["content"].strip(): e["comment"] for e in _RAW.values() if e["content"].strip()}


def book() -> WorldBook:
    loaded = read_persona_or_knowledge(ELDORIA)
    assert isinstance(loaded, WorldBook)
    return loaded


def on(messages: list[str], **scan: int) -> list[str]:
    """The comments of the Eldoria entries these messages (oldest first) turn on, highest order first."""
    candidates = [Candidate(e.activation(), e.text, e.text) for e in book().entries]
    return [LABEL[c.item] for c in activate(candidates, messages, Scan(**scan))]


# The constant entry mentions the moon Vey, whose entry mentions the Wanderer: these three are always on.
ALWAYS = {"Always: the world", "Recursion: Vey", "Recursion 2: Wanderer"}


def test_the_standalone_file_sillytavern_writes_loads_as_a_world_book():
    loaded = book()
    labels = [LABEL[e.text] for e in loaded.entries]
    assert "Disabled" not in labels and "Blank" not in labels  # switched off / nothing to know
    assert len(labels) == len(_RAW) - 2
    eldoria = loaded.entries[0]
    assert eldoria.activation().keys == ("Eldoria", "kingdom")
    assert "{{char}}" in eldoria.text and "{{user}}" in eldoria.text  # filled at prompt time
    assert loaded.warnings == []


def test_a_plain_key_turns_its_entry_on_case_insensitively_inside_longer_words_by_default():
    assert "Eldoria" in on(["Tell me about eldoria."])
    # SillyTavern's global default (world_info_match_whole_words = false): matchWholeWords null is a substring.
    assert "Eldoria" in on(["Tell me about Eldorians."])
    assert set(on(["Hello there."])) == ALWAYS


def test_a_null_match_whole_words_key_fires_inside_a_plural_and_true_keeps_whole_words(tmp_path: Path):
    path = tmp_path / "dragons.json"
    entries = {
        "0": {"uid": 0, "key": ["dragon"], "content": "Dragons breathe fire.", "matchWholeWords": None},
        "1": {"uid": 1, "key": ["wyrm"], "content": "Wyrms are old.", "matchWholeWords": True},
        "2": {"uid": 2, "key": ["drake"], "content": "Drakes are small."},  # absent: the same as null
    }
    path.write_text(json.dumps({"entries": entries}), encoding="utf-8")
    loaded = read_persona_or_knowledge(path)
    assert isinstance(loaded, WorldBook)
    candidates = [Candidate(e.activation(), e.text, e.text) for e in loaded.entries]

    def fired(message: str) -> set[str]:
        return {c.item for c in activate(candidates, [message], Scan())}

    assert fired("dragons everywhere, and drakes") == {"Dragons breathe fire.", "Drakes are small."}
    assert fired("wyrmlings hatch") == set()  # matchWholeWords true: not inside a longer word
    assert fired("an old wyrm") == {"Wyrms are old."}


def test_a_backtracking_regex_key_times_out_as_not_matching_instead_of_hanging(caplog: pytest.LogCaptureFixture):
    message = "a" * 40 + "!"  # (a|aa)+$ is exponential on it under any backtracking engine
    evil = Candidate(Rule(keys=("/(a|aa)+$/",)), "evil lore", "evil")
    also = Candidate(Rule(keys=("/(a+)+$/",)), "nested lore", "nested")
    fine = Candidate(Rule(keys=("aaaa",)), "fine lore", "fine")
    with caplog.at_level("WARNING", logger="agent.memory.world_info.activation"):
        fired = {c.item for c in activate([evil, also, fine], [message], Scan(key_timeout=0.05))}
        again = {c.item for c in activate([evil, also, fine], [message + " again"], Scan(key_timeout=0.05))}
    assert fired == again == {"fine"}  # the others did not fire; the rest of the book still works
    warnings = [r for r in caplog.records if "(a|aa)+$" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"  # once, not per message
    assert all("aaaaaaaaaa" not in r.getMessage() for r in caplog.records)  # never the message


def test_every_key_of_a_message_shares_one_time_budget():
    keys = [Candidate(Rule(keys=(f"/(a|aa)+(x{i})?$/",)), "x", i) for i in range(40)]
    fine = Candidate(Rule(keys=("/a{3}/",), order=1), "fine", "fine")
    fired = activate([*keys, fine], ["a" * 40 + "!"], Scan(key_timeout=0.05, total_timeout=0.2))
    # Past the budget every further key counts as not matching: the reply is never held for 40 timeouts.
    assert [c.item for c in fired] == []


def test_an_uncompilable_regex_key_is_reported_at_import_with_its_entry_uid(tmp_path: Path):
    path = tmp_path / "book.json"
    entries = {
        "0": {"uid": 41, "key": ["/(?<n>elf)/"], "content": "JS named groups work."},
        "1": {"uid": 42, "key": ["/(unclosed/", "elf"], "content": "Broken key."},
        "2": {"uid": 43, "key": ["/elf/q"], "content": "Unknown flag."},
    }
    path.write_text(json.dumps({"entries": entries}), encoding="utf-8")
    loaded = read_persona_or_knowledge(path)
    assert isinstance(loaded, WorldBook) and len(loaded.entries) == 3
    assert len(loaded.warnings) == 2
    assert "uid 42" in loaded.warnings[0] and "'/(unclosed/'" in loaded.warnings[0]
    assert "uid 43" in loaded.warnings[1] and "'/elf/q'" in loaded.warnings[1]
    candidates = [Candidate(e.activation(), e.text, e.text) for e in loaded.entries]
    fired = {c.item for c in activate(candidates, ["an elf"], Scan())}
    assert fired == {"JS named groups work.", "Broken key."}  # the named group compiles under `regex`


@pytest.mark.parametrize(
    ("message", "fires"),
    [
        ("Is Silverwood home to elves?", True),  # AND ANY: a secondary key too
        ("Is Silverwood far?", False),
    ],
)
def test_and_any(message: str, fires: bool):
    assert ("Silverwood (AND ANY)" in on([message])) is fires


@pytest.mark.parametrize(
    ("message", "fires"),
    [
        ("Is the dragon tame?", True),  # NOT ALL: not every secondary key appears
        ("Is the dragon tame and friendly?", False),
        ("A dragon!", True),
    ],
)
def test_not_all(message: str, fires: bool):
    assert ("Dragon (NOT ALL)" in on([message], recursion_steps=0)) is fires


@pytest.mark.parametrize(
    ("message", "fires"),
    [
        ("When is the festival?", True),  # NOT ANY: no secondary key may appear
        ("Is the festival postponed?", False),
        ("Festival cancelled?", False),
    ],
)
def test_not_any(message: str, fires: bool):
    assert ("Festival (NOT ANY)" in on([message])) is fires


@pytest.mark.parametrize(
    ("message", "fires"),
    [
        ("Who is the royal guard captain?", True),  # AND ALL: every secondary key
        ("Who is in the royal guard?", False),
        ("Where is the guard?", False),
    ],
)
def test_and_all(message: str, fires: bool):
    assert ("Royal guard (AND ALL)" in on([message])) is fires


def test_regex_keys_match_as_regular_expressions_with_their_flags():
    assert "Regex: Moonwell" in on(["Where are the MOON WELLS?"])
    assert "Regex: Moonwell" in on(["the moonwell"])
    assert "Regex: Moonwell" not in on(["the moon is well"])
    # A regex key is never matched as its literal text.
    assert key_pattern("/moon ?wells?/i", False, True) is not None
    assert key_pattern("/moon ?wells?/i", False, True).search("/moon ?wells?/i") is None  # type: ignore[union-attr]
    assert key_pattern("/(unclosed/", False, True) is None  # a broken regex never fires, never raises


def test_case_sensitive_entries():
    assert "Case-sensitive ORB" in on(["Guard the ORB."])
    assert "Case-sensitive ORB" not in on(["Guard the orb."])


def test_whole_words_off_matches_inside_words():
    assert "Substring: ston" in on(["Cobblestones everywhere."])


def test_scan_depth_global_and_per_entry():
    history = ["The oath was sworn.", "The bells rang.", "Nice weather.", "Anything else?", "Go on."]
    found = on(history, depth=2)
    assert "Deep scan: the oath" in found  # its own scanDepth 10 reaches the first message
    assert "Shallow scan: bells" not in found  # scanDepth 1: only the newest message
    assert "Shallow scan: bells" in on(["Hear the bells?"], depth=2)
    assert "Eldoria" not in on(["Eldoria!", "a", "b"], depth=2)  # the global depth: the two newest
    assert "Eldoria" in on(["Eldoria!", "a", "b"], depth=3)


def test_recursion_follows_activated_text_and_is_bounded():
    assert set(on(["Hello."], recursion_steps=0)) == {"Always: the world"}
    assert set(on(["Hello."], recursion_steps=1)) == {"Always: the world", "Recursion: Vey"}
    assert set(on(["Hello."], recursion_steps=5)) == ALWAYS  # the crown entry excludes recursion
    assert "Recursion 3 (excludeRecursion): crown" in on(["The crown!"])  # a member may still name it
    # Moonwell's text names the Silverwood elves: AND ANY met through recursion.
    assert "Silverwood (AND ANY)" in on(["the moonwell"])
    assert "Silverwood (AND ANY)" not in on(["the moonwell"], recursion_steps=0)


def test_prevent_recursion_keeps_an_entry_from_turning_on_others():
    # The tavern's text names a dragon, but it prevents recursion.
    assert "Dragon (NOT ALL)" not in on(["Meet me at the tavern."])
    assert "Prevent recursion: tavern" in on(["Meet me at the tavern."])


def test_cjk_keys_match_without_word_boundaries():
    assert "CJK: 大阪" in on(["北の月の井戸に行きたい"])
    assert "CJK: 大阪" in on(["月の井戸"])


def test_order_highest_first():
    found = on(["Eldoria: the royal guard captain went to the festival with a dragon."])
    orders = {e["comment"]: e["order"] for e in _RAW.values()}
    assert [orders[c] for c in found] == sorted((orders[c] for c in found), reverse=True)
    assert found[0] == "Eldoria"


def test_recursion_cannot_loop_forever():
    a = Candidate(Rule(keys=("alpha",)), "beta", "a")
    b = Candidate(Rule(keys=("beta",)), "alpha", "b")
    assert {c.item for c in activate([a, b], ["alpha"], Scan(recursion_steps=10))} == {"a", "b"}


@pytest.mark.parametrize(
    ("logic", "secondary", "text", "fires"),
    [
        (Logic.AND_ANY, ("xq", "zw"), "key zw", True),
        (Logic.AND_ANY, ("xq", "zw"), "key", False),
        (Logic.NOT_ALL, ("xq", "zw"), "key xq", True),
        (Logic.NOT_ALL, ("xq", "zw"), "key xq zw", False),
        (Logic.NOT_ANY, ("xq", "zw"), "key", True),
        (Logic.NOT_ANY, ("xq", "zw"), "key zw", False),
        (Logic.AND_ALL, ("xq", "zw"), "key xq zw", True),
        (Logic.AND_ALL, ("xq", "zw"), "key xq", False),
        (Logic.NOT_ANY, (), "key", True),  # no secondary keys: the primary alone
    ],
)
def test_each_selective_logic(logic: Logic, secondary: tuple[str, ...], text: str, fires: bool):
    rule = Rule(keys=("key",), secondary=secondary, logic=logic)
    assert bool(activate([Candidate(rule, "", 1)], [text], Scan(recursion_steps=0))) is fires
    unselective = Rule(keys=("key",), secondary=secondary, logic=logic, selective=False)
    assert bool(activate([Candidate(unselective, "", 1)], [text], Scan())) is True


def test_a_card_lorebook_uses_the_same_engine(tmp_path: Path):
    card = {
        "spec": "chara_card_v2",
        "data": {
            "name": "Ilsa",
            "description": "Captain of {{char}}'s guard.",
            "character_book": {
                "entries": [
                    {
                        "keys": ["/\\bsw(or)?d\\b/i"],
                        "secondary_keys": ["steel"],
                        "selective": True,
                        "content": "Ilsa's sword is Eldorian steel.",
                        "extensions": {"selectiveLogic": 3, "scan_depth": 1, "case_sensitive": False},
                        "insertion_order": 7,
                    }
                ]
            },
        },
    }
    path = tmp_path / "ilsa.json"
    path.write_text(json.dumps(card))
    loaded = read_persona_or_knowledge(path)
    assert isinstance(loaded, PersonaCard)
    rule = loaded.lore[0].activation()
    assert rule.logic == Logic.AND_ALL and rule.scan_depth == 1 and rule.order == 7
    fired = activate([Candidate(rule, "", 1)], ["Is your SWORD steel?"], Scan())
    assert fired and not activate([Candidate(rule, "", 1)], ["Is your SWORD steel?", "ok"], Scan())


@hyp_settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(
        st.text(alphabet=st.sampled_from(list("/ab()[]*+?\\^$|.iu大阪 ")) | st.characters(), max_size=12), max_size=4
    ),
    message=st.text(max_size=100),
    logic=st.sampled_from(list(Logic)),
    whole=st.booleans() | st.none(),
    case=st.booleans() | st.none(),
)
def test_activation_never_crashes_on_any_keys_or_text(
    keys: list[str], message: str, logic: Logic, whole: bool | None, case: bool | None
):
    rule = Rule(keys=tuple(keys), secondary=tuple(keys[:1]), logic=logic, whole_words=whole, case_sensitive=case)
    fired = activate([Candidate(rule, message, 1)], [message], Scan())
    plain = [k for k in keys if k.strip() and not (k.strip().startswith("/") and k.strip().endswith("/"))]
    first = plain[0] if plain and plain[0] == keys[0] and plain[0].isascii() else None
    if first and logic == Logic.AND_ANY and whole is not True and not case and first.strip().lower() in message.lower():
        assert fired  # a plain key (and its own secondary) inside the message always fires


def test_only_vectorized_or_keyless_world_info_may_be_found_by_meaning(tmp_path: Path):
    path = tmp_path / "v.json"
    entries = {
        "0": {"key": ["a"], "content": "keyed"},
        "1": {"key": ["b"], "content": "vectorized", "vectorized": True},
        "2": {"key": [], "content": "keyless"},
        "3": {"key": [], "content": "constant", "constant": True},
    }
    path.write_text(json.dumps({"entries": entries}), encoding="utf-8")
    loaded = read_persona_or_knowledge(path)
    assert isinstance(loaded, WorldBook)
    rules = {e.text: e.activation() for e in loaded.entries}
    assert {t for t, r in rules.items() if Rule.from_json(r.to_json()).by_meaning} == {"vectorized", "keyless"}
    # Stored rules of entries that are not vectorized read as before the field existed (same entry ids).
    assert "vectorized" not in rules["keyed"].to_json() and '"vectorized":true' in rules["vectorized"].to_json()
