public enum TriageDashboardModule {}
