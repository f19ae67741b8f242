"""Sub-agents and MCP tools: the I/O behind `call` steps whose target is not a flow.

The engine asks (`calm/external.py` requests); this package calls the MCP servers and
runs the agents' model loops, and the engine settles the outcomes."""
