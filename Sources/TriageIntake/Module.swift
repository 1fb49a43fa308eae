public enum TriageIntakeModule {}
