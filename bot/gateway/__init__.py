"""The gateway: the project's own web service in front of the Rasa server."""
