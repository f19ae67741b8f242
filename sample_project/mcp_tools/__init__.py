"""MCP servers this project's flows and agents call (see endpoints.yml `mcp_servers`)."""
