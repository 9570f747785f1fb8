"""This process as a node: its identity, its heartbeat, and closing what dead processes left open."""
