"""HTTP routes of the refund service, one module per resource; all logic lives in the services."""
