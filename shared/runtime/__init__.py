"""Processes Huimin starts for itself: embedded NATS and PostgreSQL, and child services."""
