"""Image requests: uploads, parameters, reservation bounds and the moderation log."""
