"""Contracts of Huimin: commands, events, the event envelope and RPC replies, in one place."""
