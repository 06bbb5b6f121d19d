"""The operations view (/ops): the gateway's own figures of a period (conversations, containment, handoffs,
fallbacks, misunderstood texts, first message to money) and how they combine with the refund service's."""
