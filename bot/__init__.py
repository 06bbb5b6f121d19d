"""After-sales assistant: gateway, refund service, evidence store and the trusted Rasa channel."""
