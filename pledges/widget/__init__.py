"""The embeddable totals widget: its script, its iframe page and its demo page."""
