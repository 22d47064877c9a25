"""Qinkefu - customer-service bot for Chinese online shops (package ``bot``)."""

__version__ = "0.1.0"
