"""Tenant dashboards (Plotly Dash): login against the users table, KPIs from the warehouse marts under the
RLS-bound dashboard role, live counters from Redis. `create_app(settings, urls)` builds the app;
`dash_app.wsgi:server` is the Flask server gunicorn serves."""

from dash_app.app import create_app

__all__ = ["create_app"]
