"""Projection service: read models built from HUIMIN_EVENTS, answering queries."""
