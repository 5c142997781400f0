"""Observer's domain: events, the reply graph's nodes, models, memory. Knows nothing of Discord."""

__version__ = "0.1.0"
