"""Complaints (投诉): categorised, ticketed, and queued for an agent."""
