"""Konsylium: a videoconference and telemedicine server (composition root and CLI)."""

__version__ = "0.1.0"
