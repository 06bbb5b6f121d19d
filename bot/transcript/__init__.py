"""The transcript tables (conversations and their numbered messages), below the gateway that writes them and the
trainer's NLU inbox that reads them."""
