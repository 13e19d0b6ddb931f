"""Messages AllToken sends to account holders (low-balance email)."""
