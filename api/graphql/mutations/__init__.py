"""The write API: strawberry's Mutation root, one module per domain type. Resolvers only turn
inputs into records (the loader's column names) and call :mod:`geo.writes`."""
