"""The REST API (``/api/v1``): FastAPI routes over the services, run by ``leadfunnel serve``."""
