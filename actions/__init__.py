"""Custom actions of Qinkefu: one action per module, named after the action."""
