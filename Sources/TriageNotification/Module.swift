// Notification policy (pure). See docs/notifier.md.
