"""Custom actions of 亲客服: one action per module, named after the action."""
