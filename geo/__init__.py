"""The spatial core: settings, database, tables, CRS handling and queries. No GraphQL, no HTTP."""
