"""The event stream: the conversation events Rasa publishes to RabbitMQ, stored for analytics by
`python -m bot events` (consumer.py) in the gateway database's ``conversation_events`` table."""
