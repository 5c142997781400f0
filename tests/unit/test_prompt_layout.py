"""What small models read and what they are not allowed to echo back (issue Q)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.models.echo import EchoScrubber, scrub_echo
from agent.prompts import fill
from tests.conftest import make_event

NAMES = ["Observer", "alice", "@Observer"]


def stream(pieces: list[str], names: list[str] = NAMES) -> str:
    echo = EchoScrubber(names)
    return "".join(echo.feed(p) for p in pieces) + echo.finish()


def test_echoed_labels_and_mentions_are_removed_from_the_stream_and_the_text():
    cases = {
        "Observer: The capital of France is Paris.": "The capital of France is Paris.",
        "alice: 42": "42",
        "Alice： 42": "42",
        "@Observer 水の化学式はH2Oです。": "水の化学式はH2Oです。",
        "<@123> hello": "hello",
        "Observer: @alice hi": "hi",
    }
    for said, shown in cases.items():
        assert scrub_echo(said, NAMES) == shown
        pieces = [said[i : i + 3] for i in range(0, len(said), 3)]
        assert stream(pieces) == shown, said


def test_answers_that_only_start_like_a_name_are_left_alone():
    for said in ("Observers are people who watch.", "Alice, the capital is Paris.", "Alright: here it is", "aliceblue"):
        assert scrub_echo(said, NAMES) == said
        assert stream([said[i : i + 2] for i in range(0, len(said), 2)]) == said


@given(st.text(max_size=60), st.integers(min_value=1, max_value=7))
def test_the_stream_shows_what_the_stored_text_says_whatever_the_chunking(text, size):
    pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    streamed = stream(pieces)
    # Never more than the text; a label is only ever removed from the start.
    assert text.endswith(streamed)
    if not text.lstrip().lower().startswith(("observer", "alice", "@", "<@")):
        assert streamed == text


def test_a_paragraph_around_an_empty_block_is_left_out():
    template = "You are {bot_name}.\n\nWhat you know:\n{memory}\n\nWhat you know about {author}:\n{member_profile}\n\nAnswer {author}."
    text = fill(template, {"bot_name": "Observer", "memory": "", "author": "ana", "member_profile": " "})
    assert text == "You are Observer.\n\nAnswer ana."
    full = fill(template, {"bot_name": "Observer", "memory": "- tea", "author": "ana", "member_profile": "kind"})
    assert "What you know:\n- tea" in full and "What you know about ana:\nkind" in full


def test_a_paragraph_keeps_its_filled_blocks_when_another_block_in_it_is_empty():
    # The judge's model list shares its paragraph with the tool list, which is empty without tools.
    template = "Models (name: what it is good at):\n{models}\n{tools}\nRecent messages:\n{history}\n\nNewest: {message}"
    text = fill(template, {"models": "- small: model small", "tools": "", "history": "", "message": "hi"})
    assert text == "Models (name: what it is good at):\n- small: model small\nRecent messages:\n\nNewest: hi"


def test_the_model_reads_the_message_without_the_bots_mention():
    event = make_event("@Observer what is the capital of France?", mentions_bot=True, bot_mention="@Observer")
    assert event.text_for_model() == "what is the capital of France?"
    assert (
        make_event("hey @Observer, 日本の首都は？", mentions_bot=True, bot_mention="@Observer").text_for_model()
        == "hey 日本の首都は？"
    )
    # Japanese members often write no space after a mention; a longer ASCII name is someone else.
    for glued, left in (
        ("@Observer日本の首都は？", "日本の首都は？"),
        ("@Observer、東京は？", "東京は？"),
        ("<@Observer> hi", "hi"),
    ):
        assert make_event(glued, mentions_bot=True, bot_mention="@Observer").text_for_model() == left
    assert make_event("@Observer2 hi", bot_mention="@Observer").text_for_model() == "@Observer2 hi"


def test_example_messages_written_as_dialogue_become_turns_and_prose_stays_text():
    from agent.memory.persona_files.cards import PersonaCard
    from agent.memory.persona_files.examples import example_turns, split_examples

    dialogue = "{{user}}: hi\n{{char}}: Hello!\nHow are you?\n<BOT>: (waves)"
    assert example_turns(dialogue) == [("user", "hi"), ("char", "Hello!\nHow are you?"), ("char", "(waves)")]
    assert example_turns("She greets everyone warmly.\n{{char}}: hi") is None
    assert split_examples("<START>\n{{user}}: a\n<start>\n{{char}}: b\n") == ["{{user}}: a", "{{char}}: b"]
    card = PersonaCard("Mika", "A guide.", examples=[dialogue, "Mika always bows."])
    assert "Mika always bows." in card.prompt_text() and "Hello!" not in card.prompt_text()
    assert card.example_turns()[0] == ("user", "hi")


def test_examples_open_the_chat_after_the_system_prompt_and_are_dropped_whole_when_they_do_not_fit():
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    from agent.events import ChatLine
    from agent.models.config import ModelSpec
    from agent.nodes.prompt_assembly import build_messages

    event = make_event("What is the capital of Peru?")
    earlier = [ChatLine(message_id=1, author="bob", text="good morning", is_bot=False)]
    examples = [("user", "What is the capital of Italy?"), ("char", "The capital of Italy is Rome.")]
    spec = ModelSpec(name="m", model="m", context_window=4096, max_output_tokens=256)
    messages, dropped = build_messages("You are Observer.", earlier, event, spec, "Observer", examples=examples)
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage, AIMessage, HumanMessage, HumanMessage]
    assert messages[2].content == "The capital of Italy is Rome." and messages[-1].content == event.text_for_model()
    assert dropped == 0
    small = ModelSpec(name="m", model="m", context_window=300, max_output_tokens=200)
    long_examples = [("user", "word " * 40), ("char", "word " * 40)]
    messages, _ = build_messages("You are Observer.", [], event, small, "Observer", examples=long_examples)
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage], "examples that do not fit are left out"


def test_earlier_messages_read_like_the_one_being_answered():
    from langchain_core.messages import AIMessage

    from agent.events import ChatLine
    from agent.models.config import ModelSpec
    from agent.nodes.prompt_assembly import build_messages

    spec = ModelSpec(name="m", model="m", context_window=4096, max_output_tokens=256)
    event = make_event("@Observer 日本の首都は？", author="alice", mentions_bot=True, bot_mention="@Observer")
    earlier = [
        ChatLine(message_id=1, author="alice", text="@Observer What is the capital of France?"),
        ChatLine(message_id=2, author="Observer", text="Paris.", is_bot=True),
        ChatLine(message_id=3, author="alice", text="@Observer日本語もできる？"),
    ]
    # One member talking with the bot: no name labels and no mention, just the conversation.
    messages, _ = build_messages("sys", earlier, event, spec, "Observer")
    assert [m.content for m in messages[1:]] == [
        "What is the capital of France?",
        "Paris.",
        "日本語もできる？",
        "日本の首都は？",
    ]
    assert isinstance(messages[2], AIMessage)
    # Two members: each earlier line says who wrote it (the mention still left out).
    two = [*earlier, ChatLine(message_id=4, author="bob", text="hi all")]
    messages, _ = build_messages("sys", two, event, spec, "Observer")
    assert [m.content for m in messages[1:]] == [
        "alice: What is the capital of France?",
        "Paris.",
        "alice: 日本語もできる？",
        "bob: hi all",
        "日本の首都は？",
    ]
