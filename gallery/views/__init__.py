"""Gallery views, one module per page or feature (see `gallery/urls.py`)."""
