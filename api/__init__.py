"""The interfaces: the Starlette app factory, the GraphQL schema, HTTP endpoints and the CLI."""
