"""Graphs built from the nodes in agent/nodes."""
