"""Model registry, TOML model list and the chat-model factory (remote OpenAI-compatible or bundled local)."""
