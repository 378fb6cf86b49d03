{{/* Names: <release>-chatmesh, or the release name when it already says chatmesh. */}}
{{- define "chatmesh.fullname" -}}
{{- if contains "chatmesh" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-chatmesh" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "chatmesh.labels" -}}
app.kubernetes.io/name: chatmesh
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component; call with (dict "root" $ "component" "ingest"). */}}
{{- define "chatmesh.selectorLabels" -}}
app.kubernetes.io/name: chatmesh
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "chatmesh.componentLabels" -}}
{{ include "chatmesh.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "chatmesh.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "chatmesh.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "chatmesh.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "chatmesh.secretName" -}}
{{- printf "%s-secrets" (include "chatmesh.fullname" .) -}}
{{- end -}}

{{/* The registry URL the services use: the one deployed here, or the external one. */}}
{{- define "chatmesh.schemaRegistryUrl" -}}
{{- if .Values.schemaRegistry.enabled -}}
{{- printf "http://%s-schema-registry:%d" (include "chatmesh.fullname" .) (int .Values.schemaRegistry.port) -}}
{{- else -}}
{{- required "schemaRegistry.url is required when schemaRegistry.enabled is false" .Values.schemaRegistry.url -}}
{{- end -}}
{{- end -}}

{{/* A pod's grace period: shutdown timeout + preStop sleep + 10 s of margin, unless given (then checked). */}}
{{- define "chatmesh.gracePeriod" -}}
{{- $minimum := add (div (int .root.Values.shutdownTimeoutMs) 1000) .preStop 1 -}}
{{- if gt (int .given) 0 -}}
{{- if lt (int .given) (int $minimum) -}}
{{- fail (printf "terminationGracePeriodSeconds %d is shorter than shutdownTimeoutMs/1000 + preStopSleepSeconds + 1 = %d: the kubelet would kill a draining process" (int .given) (int $minimum)) -}}
{{- end -}}
{{- .given -}}
{{- else -}}
{{- add $minimum 9 -}}
{{- end -}}
{{- end -}}

{{/* The environment shared by every chatmesh process (ConfigMap + Secret). */}}
{{- define "chatmesh.envFrom" -}}
- configMapRef:
    name: {{ include "chatmesh.fullname" . }}-config
{{- end -}}

{{- define "chatmesh.jwksEnv" -}}
- name: CHATMESH_AUTH_JWKS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret | default (include "chatmesh.secretName" .) }}
      key: {{ if .Values.auth.existingSecret }}{{ .Values.auth.existingSecretKey }}{{ else }}jwks-url{{ end }}
{{- end -}}

{{/* REDIS_URL from a Secret: it may carry a password. */}}
{{- define "chatmesh.redisEnv" -}}
{{- if or .Values.redis.existingSecret .Values.redis.url }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret | default (include "chatmesh.secretName" .) }}
      key: {{ if .Values.redis.existingSecret }}{{ .Values.redis.existingSecretKey }}{{ else }}redis-url{{ end }}
{{- end }}
{{- end -}}

{{/* The attachment store's credentials from a Secret (the gateways and ingest only). */}}
{{- define "chatmesh.s3Env" -}}
{{- $s3 := .Values.attachments.s3 }}
- name: S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $s3.existingSecret | default (include "chatmesh.secretName" .) }}
      key: {{ if $s3.existingSecret }}{{ $s3.accessKeyIdKey }}{{ else }}s3-access-key-id{{ end }}
- name: S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $s3.existingSecret | default (include "chatmesh.secretName" .) }}
      key: {{ if $s3.existingSecret }}{{ $s3.secretAccessKeyKey }}{{ else }}s3-secret-access-key{{ end }}
{{- end -}}

{{/* A map of variables as an env list, sorted by name. */}}
{{- define "chatmesh.envMap" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "chatmesh.probes" -}}
startupProbe:
  httpGet: { path: /ready, port: ops }
  {{- toYaml .Values.probes.startup | nindent 2 }}
livenessProbe:
  httpGet: { path: /health, port: ops }
  {{- toYaml .Values.probes.liveness | nindent 2 }}
readinessProbe:
  httpGet: { path: /ready, port: ops }
  {{- toYaml .Values.probes.readiness | nindent 2 }}
{{- end -}}

{{/* Pod-level settings every component shares; call with (dict "root" $ "component" "ingest"). */}}
{{- define "chatmesh.podCommon" -}}
serviceAccountName: {{ include "chatmesh.serviceAccountName" .root }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
{{- range .root.Values.topologySpread.topologyKeys }}
  - maxSkew: {{ $.root.Values.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $.root.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "chatmesh.selectorLabels" (dict "root" $.root "component" $.component) | nindent 8 }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "chatmesh.podMetadata" -}}
labels:
  {{- include "chatmesh.selectorLabels" (dict "root" .root "component" .component) | nindent 2 }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ include (print .root.Template.BasePath "/config.yaml") .root | sha256sum }}
  {{- with .root.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* /tmp is the only writable path (the root filesystem is read-only). */}}
{{- define "chatmesh.tmpVolume" -}}
- name: tmp
  emptyDir: { sizeLimit: 64Mi }
{{- end -}}
