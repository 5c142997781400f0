"""Japanese answers in Japanese characters, for a local model.

A small model trained mostly on Chinese (the bundled Qwen) asked in Japanese often writes a simplified
Chinese form inside an otherwise Japanese sentence: 日本の首都は东京です (東京). When the member writes
Japanese (kana in the message), tokens that hold a Han character Japanese does not use are left out of
sampling. "Used in Japanese" is JIS X 0213, the full Japanese kanji set (Python's `euc_jis_2004`
codec): 東, 國 and 説 are in it; 东, 语 and 说 are not. A member who writes such a character themselves
(asking about Chinese) is answered without the guard. The mask itself is `script_guard`'s "japanese".
"""

from __future__ import annotations

import re
from functools import lru_cache

KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=4096)
def japanese_han(char: str) -> bool:
    """`char` (one Han character) is written in Japanese: it is in JIS X 0213."""
    try:
        char.encode("euc_jis_2004")
    except UnicodeEncodeError:
        return False
    return True


def foreign_han(text: str) -> bool:
    """`text` holds a Han character Japanese does not use (a simplified Chinese form, say)."""
    return any(not japanese_han(c) for c in HAN.findall(text))


def wants_japanese_script(text: str) -> bool:
    """The member writes Japanese (kana) and uses no Chinese-only character themselves."""
    return bool(KANA.search(text)) and not foreign_han(text)
