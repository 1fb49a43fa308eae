// Analytics facts (pure). See docs/analytics.md.
