"""RQ entry points. Each job takes an id, opens its own session, and calls a service."""
