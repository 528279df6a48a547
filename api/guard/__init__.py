"""The middleware every request passes: authentication, rate limits, body and header limits,
request ids, metrics and logs. May import ``api.errors`` and ``geo``; never ``api.graphql``,
``api.http`` or strawberry."""
