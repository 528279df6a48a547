"""GraphQL types, one module per domain type; each module also holds its root resolvers."""
