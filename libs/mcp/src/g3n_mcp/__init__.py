"""g3n_mcp: one MCP server per service, generated from its operation table."""
