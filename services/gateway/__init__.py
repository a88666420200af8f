"""The gateway: HTTP API and the web dashboard; commands and queries go to the services over NATS."""
