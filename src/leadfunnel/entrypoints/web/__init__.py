"""The web dashboard: server-rendered pages (Jinja2) over the same services as the API.

``mount_web(api)`` adds them to the FastAPI application ``create_api`` builds, so
``leadfunnel serve`` answers the pages at ``/`` and the API at ``/api/v1``. Pages sign in
with the API's session cookie; docs/how-to/dashboard.md describes each page.
"""

from leadfunnel.entrypoints.web.mount import mount_web

__all__ = ["mount_web"]
