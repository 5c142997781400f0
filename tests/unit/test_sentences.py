"""Streamed replies are cut into sentences as they arrive, in Latin, Cyrillic and CJK text."""

from __future__ import annotations

from agent.voice.sentences import SentenceSplitter, split_sentences


def _stream(text: str, step: int = 3) -> tuple[list[list[str]], list[str]]:
    splitter = SentenceSplitter()
    emitted = [splitter.feed(text[i : i + step]) for i in range(0, len(text), step)]
    return emitted, splitter.flush()


def test_a_sentence_is_released_as_soon_as_the_next_one_starts():
    splitter = SentenceSplitter()
    assert splitter.feed("The ferry leaves at eight") == []
    assert splitter.feed(" in the morning.") == []  # could still be "...morning.com" or the end
    assert splitter.feed(" Bring") == ["The ferry leaves at eight in the morning."]
    assert splitter.flush() == ["Bring"]


def test_japanese_sentences_end_at_the_full_stop_without_a_space():
    emitted, rest = _stream("お店は十時に開きます。水曜日は休みです！また来てね")
    flat = [s for batch in emitted for s in batch]
    assert flat == ["お店は十時に開きます。", "水曜日は休みです！"]
    assert rest == ["また来てね"]


def test_quotes_stay_with_their_sentence_and_abbreviations_do_not_split():
    text = "She said 「こんにちは。」 Then she left. Bring tea, e.g. sencha or hojicha, to the meeting. Ok"
    assert split_sentences(text) == [
        "She said 「こんにちは。」",
        "Then she left.",
        "Bring tea, e.g. sencha or hojicha, to the meeting.",
        "Ok",
    ]


def test_russian_and_portuguese():
    assert split_sentences("Привет! Как твои дела сегодня? Отлично.") == ["Привет! Как твои дела сегодня?", "Отлично."]
    assert split_sentences("Olá, tudo bem com você? Sim, obrigado pela pergunta.") == [
        "Olá, tudo bem com você?",
        "Sim, obrigado pela pergunta.",
    ]


def test_numbers_and_short_bits_do_not_make_tiny_sentences():
    assert split_sentences("Version 3.5 is out. Ok. Now update everything please.") == [
        "Version 3.5 is out.",
        "Ok. Now update everything please.",  # a two-letter sentence waits for the next one
    ]


def test_long_sentences_are_spoken_clause_by_clause_short_ones_whole():
    from agent.voice.sentences import speech_pieces

    long = "The lighthouse has two hundred and fourteen steps, and the view from the top is worth every one of them."
    assert speech_pieces(long) == [
        "The lighthouse has two hundred and fourteen steps,",
        "and the view from the top is worth every one of them.",
    ]
    assert speech_pieces("Yes, sure, at eight.") == ["Yes, sure, at eight."]
    japanese = "灯台には二百十四段の階段があり、頂上からの眺めは本当に素晴らしくて一段一段の価値があります、ぜひ登ってみてくださいね。"
    assert "".join(speech_pieces(japanese)) == japanese
