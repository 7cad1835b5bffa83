"""The dashboard pages, in menu order. Each module has PATH, NAME, ORDER, TITLE, layout(), TABLES and
register(app, deps) for its figure callbacks (tables and their CSV downloads are wired by dash_app.app).
PAGES are the managers' dashboards; WORKSPACE is the agents' workspace, which every role logged in sees."""

from dash_app.pages import agents, ai_sgp, csat, live, overview, supervision, volume, workspace

PAGES = [overview, volume, csat, ai_sgp, agents, live, supervision]
WORKSPACE = workspace
