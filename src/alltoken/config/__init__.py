"""Settings: flags > environment > config file > defaults (settings.py), one module per section."""

from alltoken.config.billing import Markup, StripeSettings
from alltoken.config.email import SMTP_SECURITY, AlertSettings, SmtpSettings
from alltoken.config.governance import MIN_USAGE_RETENTION_DAYS, RegionSettings, RetentionSettings, TermsSettings
from alltoken.config.images import ImageSettings
from alltoken.config.provider_types import ENV_PROVIDERS, PROVIDER_TYPES, ProviderConfig, ProviderType
from alltoken.config.routing import STRATEGIES, ModelConfig, RouteConfig, parse_model
from alltoken.config.settings import Settings, load_settings
from alltoken.config.values import ConfigError

__all__ = ["ENV_PROVIDERS", "MIN_USAGE_RETENTION_DAYS", "PROVIDER_TYPES", "SMTP_SECURITY", "STRATEGIES",
           "AlertSettings", "ConfigError", "ImageSettings", "Markup", "ModelConfig", "ProviderConfig", "ProviderType",
           "RegionSettings", "RetentionSettings", "RouteConfig", "Settings", "SmtpSettings", "StripeSettings",
           "TermsSettings", "load_settings", "parse_model"]
