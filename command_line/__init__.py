"""The command-line door: `observer` (console, replay, memory and voice tools, and starting the bot).

Beside `discord_adapter/`: it turns terminal input into the same `Event`s and reads the same graph
stream; nothing in `agent/` or `graphs/` imports it."""
