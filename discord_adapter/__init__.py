"""The Discord door: discord.py events in, the reply graph's stream out. Translation only; decisions live in agent/."""
