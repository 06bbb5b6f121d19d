"""The gateway: shopper API, agent API and console, live streams and web pages (port 8000)."""
