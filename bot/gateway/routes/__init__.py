"""HTTP routes of the gateway: thin handlers over the service modules."""
