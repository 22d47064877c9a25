"""The model server: one service owns the model history's artifacts and serves the active model to
every Rasa replica the documented Rasa way (endpoints.yml's ``models: url/token/wait_time_between_pulls``,
polled with ETag / If-None-Match); the trainer publishes models to it and activates one by name."""
