"""The request schemas of the data-plane endpoints (one module each) and the language they are
written in (nodes.py). http/v1/validation.py checks bodies against them."""
