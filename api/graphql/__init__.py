"""The GraphQL API: schema, context, relay, limits, the compiled path, errors as GraphQL sees
them, ``types/`` and ``mutations/``. May import ``api.guard``, ``api.checks``, ``api.errors``
and ``geo``; never ``api.http``."""
