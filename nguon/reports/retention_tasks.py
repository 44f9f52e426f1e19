"""Periodic tasks that keep raw report records for the configured time (monthly partitions on PostgreSQL)."""
