"""Account and workspace-settings views, one module per page or feature (see `accounts/urls.py`
and `config/urls.py`)."""
