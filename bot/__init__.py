"""Chat connectors. They turn chat events into core commands and core events into messages."""
