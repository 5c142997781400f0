"""The web dashboard: a door for the people who run the bot. It reads the record through `agent/` and
changes only what a slash command could (a channel's mode), with the same permission checks."""
