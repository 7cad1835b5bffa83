"""The dashboard pages, in menu order. Each module has PATH, NAME, ORDER, TITLE, layout(), TABLES and
register(app, deps) for its figure callbacks (tables and their CSV downloads are wired by dash_app.app).
PAGES are the managers' dashboards; WORKSPACE is the agents' workspace, which every role logged in sees;
SETTINGS the workspace's settings (teams, labels, quick replies, the first-response target), for admins and
managers."""

from dash_app.pages import (
    agents,
    ai_sgp,
    csat,
    live,
    overview,
    supervision,
    volume,
    workspace,
    workspace_settings,
)

PAGES = [overview, volume, csat, ai_sgp, agents, live, supervision]
WORKSPACE = workspace
SETTINGS = workspace_settings
