"""AllToken: a self-hostable LLM gateway."""

__version__ = "0.1.0"
