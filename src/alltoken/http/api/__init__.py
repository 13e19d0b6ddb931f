"""The management API under /api (app.py builds it): one module, or folder, per URL prefix (/api/auth/* is
auth/, /api/billing/* billing/, /api/usage/* usage.py, ...). Beside them the helpers they share: callers.py (who
calls, and the scopes that let them), key_actions.py, ledger_views.py, csv_export.py, service_errors.py."""
