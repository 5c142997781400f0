"""The record (SQL: what was said) and Chroma collections (what the bot knows)."""
