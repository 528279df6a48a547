"""The write API: strawberry's Mutation root, one module per domain type. Resolvers only turn
inputs into records (keyed by the tables' columns) and call :mod:`geo.writes`."""
