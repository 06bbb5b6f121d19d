"""Complaints (投诉): categorised, ticketed, and queued for an agent. Served by the refund service (its app, auth,
sessions and errors), so they live inside bot.refunds."""
