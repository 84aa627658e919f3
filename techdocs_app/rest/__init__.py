"""REST API v1 (`/api/v1`, on the app's one port): questions (JSON and Server-Sent Events),
documents, conversations and usage for a shop's other software, with per-organization API keys.

`app.py` builds the Starlette application; `schemas.py` holds the request and response models
the OpenAPI document (`openapi.py`) is generated from; `errors.py` maps the product's exceptions
to JSON errors with stable codes. Services do the work (the same ones the UI calls), with the
permission table and the organization scoping of every other caller.
"""
