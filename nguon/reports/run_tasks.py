"""Tasks that generate reports (on request and on schedule) and plan each day's expected airtime."""
