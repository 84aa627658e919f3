"""What the service is doing, for an operator: structured logs (`logs`), Prometheus metrics
(`metrics`), health and readiness (`health`) and their HTTP routes (`routes`).

Nothing here imports reflex; the routes are plain Starlette, served on the app's one port.
"""
