"""Image upload limits and the moderation log's retention (`images:`)."""

from dataclasses import dataclass

from alltoken.config.values import ConfigError


@dataclass(frozen=True)
class ImageSettings:
    """Limits on image uploads (/v1/images/edits and /variations), on the images AllToken fetches by URL
    for a chat request (providers that take image bytes inline: Gemini, Bedrock), and the moderation
    log's retention."""

    max_image_bytes: int = 50 * 1024 * 1024      # each uploaded image (OpenAI: under 50 MB)
    max_mask_bytes: int = 4 * 1024 * 1024        # the mask (OpenAI: under 4 MB)
    max_images: int = 16                         # image parts in one edit (OpenAI: up to 16)
    max_request_bytes: int = 128 * 1024 * 1024   # the whole multipart body
    max_fetched_images: int = 16                 # image URLs fetched for one chat request
    max_fetched_bytes: int = 32 * 1024 * 1024    # all of them together (a request body's own limit)
    moderation_log_retention_days: int = 365
    purge_interval_seconds: float = 3600.0       # how often records past retention are deleted


def images(raw: object) -> ImageSettings:
    if raw is None:
        return ImageSettings()
    known = {name: type(value) for name, value in ImageSettings().__dict__.items()}
    if not isinstance(raw, dict) or set(raw) - set(known):
        raise ConfigError(f"images: expected a mapping with any of {', '.join(known)}")
    try:
        values = {name: known[name](value) for name, value in raw.items() if not isinstance(value, bool)}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"images: {exc}") from exc
    if len(values) != len(raw) or any(value <= 0 for value in values.values()):
        raise ConfigError("images: every value must be a number more than 0")
    return ImageSettings(**values)
