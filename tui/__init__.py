"""The operators' Textual TUI; it talks to the admin API over mTLS. Built in a later issue."""
