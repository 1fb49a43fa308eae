import TriageKafka
print(KafkaLibrary.version)
