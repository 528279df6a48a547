"""Importers of real open data into the directory, with validation and reports."""
