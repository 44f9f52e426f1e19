"""Nguồn: the provincial source information system."""

__version__ = "0.1.0"
