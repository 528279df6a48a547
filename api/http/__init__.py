"""Every endpoint that is not GraphQL: exports, HSDS, OGC API, tiles, the page and its assets.
Parameters are parsed in ``params``, streamed answers built in ``streaming``. May import
``api.guard``, ``api.checks``, ``api.errors`` and ``geo``; never ``api.graphql`` or strawberry."""
