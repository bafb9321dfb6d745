{{/* Names --------------------------------------------------------------------------------------------- */}}

{{- define "ameide.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name, kept to 50 chars so "-projector-metrics" style suffixes stay within the 63-char DNS label. */}}
{{- define "ameide.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ameide.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ameide.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ameide.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ameide.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Labels ------------------------------------------------------------------------------------------------
     Call with (dict "root" $ "component" "command"). Selector labels never change after install. */}}

{{- define "ameide.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ameide.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "ameide.labels" -}}
helm.sh/chart: {{ include "ameide.chart" .root }}
{{ include "ameide.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: ameide-threads
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Validation that JSON Schema cannot express (relations between values). Included by every Deployment. */}}
{{- define "ameide.validate" -}}
{{- $grace := float64 .Values.config.shutdownGraceSeconds -}}
{{- $python := list "command" "query" "projector" -}}
{{- if .Values.web.enabled }}{{ $python = append $python "web" }}{{ end -}}
{{- $scaled := concat $python (ternary (list "gateway") (list) .Values.gateway.enabled) -}}
{{- range $c := $python -}}
{{- $v := index $.Values $c -}}
{{- if le (float64 $v.terminationGracePeriodSeconds) $grace -}}
{{- fail (printf "%s.terminationGracePeriodSeconds (%v) must be greater than config.shutdownGraceSeconds (%v): Kubernetes would SIGKILL the pod before in-flight RPCs drain" $c $v.terminationGracePeriodSeconds $.Values.config.shutdownGraceSeconds) -}}
{{- end -}}
{{- end -}}
{{- range $c := $scaled -}}
{{- $v := index $.Values $c -}}
{{- if and (hasKey $v "autoscaling") $v.autoscaling.enabled -}}
{{- if gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas) -}}
{{- fail (printf "%s.autoscaling.minReplicas must not exceed maxReplicas" $c) -}}
{{- end -}}
{{- if not (and $v.resources.requests $v.resources.requests.cpu) -}}
{{- fail (printf "%s.autoscaling needs %s.resources.requests.cpu: CPU utilisation is measured against the request" $c $c) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (eq .Values.config.auth "jwt") (not .Values.secrets.jwt.name) -}}
{{- fail "secrets.jwt.name is required when config.auth is jwt" -}}
{{- end -}}
{{- if eq .Values.config.auth "jwt" -}}
{{- range .Values.config.jwtAlgorithms -}}
{{- $hmac := hasPrefix "HS" . -}}
{{- if and $hmac (ne $.Values.secrets.jwt.type "hmacSecret") -}}
{{- fail (printf "config.jwtAlgorithms has %s but secrets.jwt.type is %s: HS* algorithms need type hmacSecret" . $.Values.secrets.jwt.type) -}}
{{- end -}}
{{- if and (not $hmac) (ne $.Values.secrets.jwt.type "publicKey") -}}
{{- fail (printf "config.jwtAlgorithms has %s but secrets.jwt.type is %s: asymmetric algorithms need type publicKey" . $.Values.secrets.jwt.type) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if .Values.networkPolicy.enabled -}}
{{- range $t := list "postgres" "redis" -}}
{{- $e := index $.Values.networkPolicy.egress $t -}}
{{- if not (or $e.cidrs $e.peers) -}}
{{- fail (printf "networkPolicy.egress.%s needs cidrs or peers when networkPolicy.enabled: the pods could not reach %s" $t $t) -}}
{{- end -}}
{{- end -}}
{{- if and $.Values.otel.endpoint (not (or .Values.networkPolicy.egress.otlp.cidrs .Values.networkPolicy.egress.otlp.peers)) -}}
{{- fail "networkPolicy.egress.otlp needs cidrs or peers when otel.endpoint is set and networkPolicy.enabled" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.gateway.enabled (eq (int .Values.gateway.port) (int .Values.gateway.healthPort)) -}}
{{- fail "gateway.port and gateway.healthPort must differ" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) -}}
{{- fail "ingress.host is required when ingress.enabled" -}}
{{- end -}}
{{- if and .Values.grpcRoute.enabled (not .Values.grpcRoute.parentRefs) -}}
{{- fail "grpcRoute.parentRefs needs at least one Gateway when grpcRoute.enabled" -}}
{{- end -}}
{{- end -}}

{{/* Env from existing Secrets, per component: only secretKeyRef, never values.
     Call with (dict "root" $ "component" "command"|"query"|"projector"|"migrate"). */}}
{{- define "ameide.secretEnv" -}}
{{- $s := .root.Values.secrets -}}
- name: AMEIDE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $s.database.name }}
      key: {{ $s.database.key }}
{{- if and (eq .component "query") $s.queryDatabase.name }}
- name: AMEIDE_QUERY_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $s.queryDatabase.name }}
      key: {{ $s.queryDatabase.key }}
{{- end }}
{{- if ne .component "migrate" }}
{{- /* command PUBLISHes the projector wake-up, projector XADDs the feed, query reads it. */}}
- name: AMEIDE_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $s.redis.name }}
      key: {{ $s.redis.key }}
{{- end }}
{{- if has .component (list "command" "query") }}
- name: AMEIDE_TOKEN_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $s.tokenSecret.name }}
      key: {{ $s.tokenSecret.key }}
{{- end }}
{{- /* The command and query services validate the JWT key at start (their settings: ameide_<service>.config); the
       projector reads no auth settings and ignores it; a publicKey exposes nothing. `ameide migrate` reads only
       AMEIDE_DATABASE_URL, so the hook Job gets no key. */}}
{{- if and (eq .root.Values.config.auth "jwt") (ne .component "migrate") }}
- name: {{ ternary "AMEIDE_JWT_SECRET" "AMEIDE_JWT_PUBLIC_KEY" (eq $s.jwt.type "hmacSecret") }}
  valueFrom:
    secretKeyRef:
      name: {{ $s.jwt.name }}
      key: {{ $s.jwt.key }}
{{- end }}
{{- end -}}

{{/* Tracing env; the OTLP variables appear only when an endpoint is set (tracing is off otherwise). */}}
{{- define "ameide.otelEnv" -}}
- name: OTEL_SERVICE_NAME
  value: ameide-threads-{{ .component }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "service.namespace={{ .root.Release.Namespace }},service.version={{ .root.Chart.AppVersion }},k8s.namespace.name={{ .root.Release.Namespace }},k8s.pod.name=$(K8S_POD_NAME)"
{{- with .root.Values.otel }}
{{- if .endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ .tracesSampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .tracesSamplerArg | quote }}
{{- if .headersSecret.name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ .headersSecret.name }}
      key: {{ .headersSecret.key }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Security context ---------------------------------------------------------------------------------- */}}

{{- define "ameide.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ameide.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Native gRPC probes against grpc.health.v1. Call with (dict "port" 50051 "probes" .probes). */}}
{{- define "ameide.probes" -}}
startupProbe:
  grpc:
    port: {{ .port }}
    service: {{ .probes.service | quote }}
  periodSeconds: {{ .probes.startup.periodSeconds }}
  failureThreshold: {{ .probes.startup.failureThreshold }}
livenessProbe:
  grpc:
    port: {{ .port }}
    service: {{ .probes.service | quote }}
  periodSeconds: {{ .probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .probes.liveness.failureThreshold }}
readinessProbe:
  grpc:
    port: {{ .port }}
    service: {{ .probes.service | quote }}
  periodSeconds: {{ .probes.readiness.periodSeconds }}
  timeoutSeconds: {{ .probes.readiness.timeoutSeconds }}
  failureThreshold: {{ .probes.readiness.failureThreshold }}
{{- end -}}

{{/* One NetworkPolicy egress rule from {cidrs, peers, ports} (validated non-empty in ameide.validate). */}}
{{- define "ameide.egressRule" -}}
- to:
    {{- range .cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
    {{- with .peers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    {{- range .ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/* Fully qualified gRPC services each deployable serves; GRPCRoute and Ingress route on these names. */}}
{{- define "ameide.grpcServices" -}}
command:
  - ameide_core_proto.threads.v1.ChatCommandService
  - ameide_core_proto.artifacts.v1.ArtifactCommandService
query:
  - ameide_core_proto.threads.v1.ChatQueryService
  - ameide_core_proto.artifacts.v1.ArtifactQueryService
  - ameide_core_proto.live.v1.PresenceService
  - ameide_core_proto.live.v1.DraftService
{{- end -}}

{{/* The gateway's Envoy configuration: files/envoy.yaml (the template `ameide dev` renders too, D51) with its
     placeholders filled for this cluster. Lines marked "# web-route" go when the web deployable is off. */}}
{{- define "ameide.envoyConfig" -}}
{{- $g := .Values.gateway -}}
{{- $ns := .Release.Namespace -}}
{{- $full := include "ameide.fullname" . -}}
{{- $origins := list -}}
{{- range $g.cors.allowedOrigins }}{{ $origins = append $origins (dict "exact" .) }}{{ end -}}
{{- range $g.cors.allowedOriginRegexes }}{{ $origins = append $origins (dict "safe_regex" (dict "regex" .)) }}{{ end -}}
{{- /* Same rule as ameide_cli.gateway.stream_idle_timeout: four heartbeats, at least a minute. */ -}}
{{- $idle := max 60 (int (ceil (mulf 4 .Values.config.heartbeatSeconds))) -}}
{{- $cfg := .Files.Get "files/envoy.yaml" -}}
{{- if not .Values.web.enabled -}}
{{- $cfg = regexReplaceAll "(?m)^.*# web-route[ \\t]*\\n" $cfg "" -}}
{{- end -}}
{{- $cfg = $cfg | replace "__LISTEN_ADDRESS__" "0.0.0.0" | replace "__LISTEN_PORT__" (toString $g.port) -}}
{{- $cfg = $cfg | replace "__HEALTH_ADDRESS__" "0.0.0.0" | replace "__HEALTH_PORT__" (toString $g.healthPort) -}}
{{- $cfg = $cfg | replace "__ADMIN_PORT__" (toString $g.adminPort) -}}
{{- $cfg = $cfg | replace "__COMMAND_HOST__" (printf "%s-command-pods.%s.svc.%s" $full $ns $g.clusterDomain) -}}
{{- $cfg = $cfg | replace "__COMMAND_PORT__" (toString .Values.command.port) -}}
{{- $cfg = $cfg | replace "__QUERY_HOST__" (printf "%s-query-pods.%s.svc.%s" $full $ns $g.clusterDomain) -}}
{{- $cfg = $cfg | replace "__QUERY_PORT__" (toString .Values.query.port) -}}
{{- $cfg = $cfg | replace "__WEB_HOST__" (printf "%s-web.%s.svc.%s" $full $ns $g.clusterDomain) -}}
{{- $cfg = $cfg | replace "__WEB_PORT__" (toString .Values.web.service.port) -}}
{{- $cfg = $cfg | replace "__CORS_ORIGINS__" (toJson $origins) -}}
{{- $cfg = $cfg | replace "__STREAM_IDLE_TIMEOUT__" (printf "%ds" $idle) -}}
{{- $cfg = $cfg | replace "__ACCESS_LOG_PATH__" (toJson "/dev/stdout") -}}
{{- if regexMatch "__[A-Z_]+__" $cfg -}}
{{- fail (printf "files/envoy.yaml has a placeholder the chart does not fill: %s" (regexFind "__[A-Z_]+__" $cfg)) -}}
{{- end -}}
{{- $cfg -}}
{{- end -}}
