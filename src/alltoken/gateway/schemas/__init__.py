"""The request schemas of the data-plane endpoints (one module each) and the language they are
written in (nodes.py). gateway/validation.py checks bodies against them."""
