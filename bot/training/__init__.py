"""The trainer workflow: editing the training data and domain in place, checks, training jobs."""
