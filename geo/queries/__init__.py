"""Read queries as plain functions: a connection in, plain dataclasses out."""
