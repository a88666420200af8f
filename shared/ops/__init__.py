"""Operations tooling: NATS configuration, healthchecks, re-publishing events (docs/operations.md)."""
