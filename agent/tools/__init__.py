"""What the agent can do besides talk: built-in tools, MCP servers' tools, and the rules on who may use them."""
