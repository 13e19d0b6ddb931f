"""Settings: flags > environment > config file > defaults (settings.py), one module per section."""

from .billing import Markup, StripeSettings
from .email import SMTP_SECURITY, AlertSettings, SmtpSettings
from .governance import MIN_USAGE_RETENTION_DAYS, RegionSettings, RetentionSettings, TermsSettings
from .images import ImageSettings
from .routing import ENV_PROVIDERS, PROVIDER_TYPES, STRATEGIES, ModelConfig, ProviderConfig, RouteConfig, parse_model
from .settings import Settings, load_settings
from .values import ConfigError

__all__ = ["ENV_PROVIDERS", "MIN_USAGE_RETENTION_DAYS", "PROVIDER_TYPES", "SMTP_SECURITY", "STRATEGIES",
           "AlertSettings", "ConfigError", "ImageSettings", "Markup", "ModelConfig", "ProviderConfig", "RegionSettings",
           "RetentionSettings", "RouteConfig", "Settings", "SmtpSettings", "StripeSettings", "TermsSettings",
           "load_settings", "parse_model"]
