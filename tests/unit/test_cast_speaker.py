from __future__ import annotations

from agent.cast.speaker import Candidate, fallback_speaker, named_in


def test_names_are_whole_words_and_cjk_names_are_found_as_written() -> None:
    names = ["Ren", "Mika", "ミカ"]
    assert named_in("Ren, how much for a sword?", names) == "Ren"
    assert named_in("Renata came by", names) is None, "Ren is not in Renata"
    assert named_in("ask mika or ren", names) == "Mika", "the first named, any case"
    assert named_in("ミカさん、お茶をください", names) == "ミカ", "no spaces in Japanese"


def test_the_fallback_never_lets_a_character_answer_itself() -> None:
    cast = [Candidate(name="Mika", talkativeness=0.9), Candidate(name="Ren", talkativeness=0.2)]
    assert fallback_speaker(cast, last_speaker="Mika", addressed=True) == "Ren"
    assert fallback_speaker(cast, last_speaker="Ren", addressed=True) == "Mika"
    assert fallback_speaker(cast, last_speaker=None, addressed=False) is None, "unaddressed: nobody"
