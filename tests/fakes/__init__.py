"""Local HTTP servers speaking vendor wire formats, for testing the real SDKs without a network."""
