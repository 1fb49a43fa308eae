{{/* Names, labels and the per-worker settings every template shares. */}}

{{- define "triage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "triage.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "triage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "triage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "triage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "triage.labels" -}}
helm.sh/chart: {{ include "triage.chart" . }}
{{ include "triage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: triage
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one worker's resources: (list $ "escalator"). */}}
{{- define "triage.workerLabels" -}}
{{- $root := index . 0 -}}
{{ include "triage.labels" $root }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "triage.workerSelectorLabels" -}}
{{- $root := index . 0 -}}
{{ include "triage.selectorLabels" $root }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "triage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "triage.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "triage.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Deep merge of two maps, the second winning, rendered as YAML: (list BASE OVERRIDE).
Unlike sprig's mergeOverwrite, a `false`, `0` or empty value in OVERRIDE wins too, so
`workers.router.autoscaling.enabled: false` turns the router's autoscaler off.
*/}}
{{- define "triage.merge" -}}
{{- $out := deepCopy (index . 0) -}}
{{- range $key, $value := index . 1 -}}
{{- $base := get $out $key -}}
{{- if and (kindIs "map" $value) (kindIs "map" $base) -}}
{{- $_ := set $out $key (include "triage.merge" (list $base $value) | fromYaml) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The worker kinds, in the order their resources are rendered. */}}
{{- define "triage.workerKinds" -}}
{{- list "escalator" "router" "notifier" "analytics" "intake" | toJson -}}
{{- end -}}

{{/*
One worker's settings: workerDefaults merged with workers.<kind>, plus what the chart knows about
the kind (the topics it consumes, for KEDA and for the replica ceiling). (list $ "escalator")
*/}}
{{- define "triage.worker" -}}
{{- $root := index . 0 -}}
{{- $kind := index . 1 -}}
{{- $worker := include "triage.merge" (list $root.Values.workerDefaults (index $root.Values.workers $kind)) | fromYaml -}}
{{- $p := $root.Values.topics.partitions -}}
{{- $lag := list -}}
{{- $partitions := 0 -}}
{{- if eq $kind "escalator" -}}
{{- $lag = list (dict "group" $worker.group "topic" "triage.incident-events") -}}
{{- $partitions = $p.incidents -}}
{{- else if eq $kind "router" -}}
{{- $lag = list (dict "group" $worker.group "topic" "triage.routing") (dict "group" (printf "%s-dispatch" $worker.group) "topic" "triage.incident-events") -}}
{{- $partitions = $p.routing -}}
{{- else if eq $kind "notifier" -}}
{{- $lag = list (dict "group" $worker.group "topic" "triage.notification-requests") (dict "group" $worker.group "topic" "triage.notification-retry") -}}
{{- $partitions = $p.notifications -}}
{{- else if eq $kind "analytics" -}}
{{- $lag = list (dict "group" $worker.group "topic" "triage.incident-events") -}}
{{- $partitions = $p.incidents -}}
{{- else if eq $kind "intake" -}}
{{- $lag = list (dict "group" $worker.group "topic" "triage.entitlement-requests") -}}
{{- $partitions = $p.entitlements -}}
{{- end -}}
{{- $_ := set $worker "kind" $kind -}}
{{- $_ = set $worker "lagSources" $lag -}}
{{- $_ = set $worker "partitions" $partitions -}}
{{- $max := int $worker.autoscaling.maxReplicas -}}
{{- if eq $max 0 -}}{{- $max = int $partitions -}}{{- end -}}
{{- $_ = set $worker "maxReplicas" $max -}}
{{- $budget := add (int $worker.sessionTimeoutSeconds) 30 -}}
{{- if le (int $worker.terminationGracePeriodSeconds) $budget -}}
{{- fail (printf "workers.%s.terminationGracePeriodSeconds (%d) must exceed the graceful-shutdown budget, sessionTimeoutSeconds + 30 = %d: a worker needs that long to finish its in-flight records, commit and leave its group after SIGTERM" $kind (int $worker.terminationGracePeriodSeconds) $budget) -}}
{{- end -}}
{{- if and $worker.autoscaling.enabled (gt (int $worker.autoscaling.minReplicas) $max) -}}
{{- fail (printf "workers.%s.autoscaling.minReplicas (%d) is above its maxReplicas (%d)" $kind (int $worker.autoscaling.minReplicas) $max) -}}
{{- end -}}
{{- toYaml $worker -}}
{{- end -}}

{{/* The librdkafka properties every container passes, as --kafka-property arguments. */}}
{{- define "triage.kafkaArgs" -}}
{{- $k := .Values.kafka -}}
{{- $props := dict -}}
{{- if and $k.sasl.enabled $k.tls.enabled -}}
{{- $_ := set $props "security.protocol" "SASL_SSL" -}}
{{- else if $k.sasl.enabled -}}
{{- $_ := set $props "security.protocol" "SASL_PLAINTEXT" -}}
{{- else if $k.tls.enabled -}}
{{- $_ := set $props "security.protocol" "SSL" -}}
{{- end -}}
{{- if $k.sasl.enabled -}}
{{- $_ := required "kafka.sasl.existingSecret is required with kafka.sasl.enabled: name the Secret that holds the SASL username and password" $k.sasl.existingSecret -}}
{{- $_ = set $props "sasl.mechanisms" $k.sasl.mechanism -}}
{{- /* sasl.username and sasl.password come from the container's env (TRIAGE_KAFKA_SASL_USERNAME,
     TRIAGE_KAFKA_SASL_PASSWORD from the Secret): triage reads TRIAGE_KAFKA_* as librdkafka
     properties, so the credentials never appear in args or the process list. */ -}}
{{- end -}}
{{- if and $k.tls.enabled $k.tls.existingSecret -}}
{{- $_ := set $props "ssl.ca.location" (printf "/etc/triage/kafka-tls/%s" $k.tls.caKey) -}}
{{- if $k.tls.certificateKey -}}
{{- $_ = set $props "ssl.certificate.location" (printf "/etc/triage/kafka-tls/%s" $k.tls.certificateKey) -}}
{{- end -}}
{{- if $k.tls.keyKey -}}
{{- $_ = set $props "ssl.key.location" (printf "/etc/triage/kafka-tls/%s" $k.tls.keyKey) -}}
{{- end -}}
{{- end -}}
{{- range $key, $value := $k.properties -}}
{{- $_ := set $props $key (toString $value) -}}
{{- end -}}
{{- range $key, $value := $props }}
- --kafka-property
- {{ printf "%s=%s" $key $value | quote }}
{{- end -}}
{{- end -}}

{{/* The env entries every container has: the bootstrap servers and the SASL credentials. */}}
{{- define "triage.kafkaEnv" -}}
- name: TRIAGE_BOOTSTRAP
  value: {{ required "kafka.bootstrap is required: the Kafka bootstrap servers, host:port[,host:port...]" .Values.kafka.bootstrap | quote }}
{{- if .Values.kafka.sasl.enabled }}
- name: TRIAGE_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.usernameKey }}
- name: TRIAGE_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- end -}}

{{/* Volumes and mounts for the Kafka TLS Secret. */}}
{{- define "triage.kafkaTLSVolume" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
{{- end }}
{{- end -}}

{{- define "triage.kafkaTLSMount" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: /etc/triage/kafka-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/*
A configuration file's text: the value if set, else the bundled file; with shared `calendars`,
those are added to the file's own (the file's win). (list $ VALUE "files/sla-policy.yaml")
*/}}
{{- define "triage.configFile" -}}
{{- $root := index . 0 -}}
{{- $text := index . 1 -}}
{{- if not $text -}}{{- $text = $root.Files.Get (index . 2) -}}{{- end -}}
{{- if $root.Values.calendars -}}
{{- $doc := fromYaml $text -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "%s is not valid YAML: %s" (index . 2) (get $doc "Error")) -}}
{{- end -}}
{{- $calendars := merge (default dict (get $doc "calendars")) (deepCopy $root.Values.calendars) -}}
{{- $_ := set $doc "calendars" $calendars -}}
{{- toYaml $doc -}}
{{- else -}}
{{- $text -}}
{{- end -}}
{{- end -}}
