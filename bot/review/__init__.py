"""Human review of the bot's replies: routing policy, durable review queue, agent accounts."""
