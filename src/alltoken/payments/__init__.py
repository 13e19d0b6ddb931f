"""Card top-ups through Stripe: Checkout, webhooks applied exactly once, billing holds, auto top-up."""
