"""The trusted Rasa input channel: the only way shopper input (via the gateway) reaches the bot."""
