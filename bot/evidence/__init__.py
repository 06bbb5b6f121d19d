"""Evidence store: validated, re-encoded shopper photos with perceptual hashes; its API is `bot.evidence.store`."""
