"""Evidence store: validated, re-encoded shopper photos with perceptual hashes."""
