"""Rasa custom actions for the after-sales assistant, one module per concern."""
