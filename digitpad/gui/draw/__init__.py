"""Widgets that only render: they are given predictions, maps and metadata and draw them."""
