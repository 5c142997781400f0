"""SillyTavern World Info: its entry format, its activation rules and its macros.

`rules` holds what one entry is (keys, secondary keys and their logic, flags); `books` reads the
World Info JSON SillyTavern writes (standalone files and a card's `character_book`); `activation`
decides which entries a conversation turns on; `macros` fills `{{char}}`, `{{user}}` and the others
at prompt time.
"""
