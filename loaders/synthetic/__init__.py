"""Building blocks of the seeded generator (loaders/generate.py): places and row attributes."""
