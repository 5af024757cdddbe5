{{/* Names and labels shared by the templates. */}}

{{- define "ecs-keypair-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ecs-keypair-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "ecs-keypair-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ecs-keypair-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end }}

{{- define "ecs-keypair-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ecs-keypair-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ecs-keypair-operator
{{- end }}

{{- define "ecs-keypair-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ecs-keypair-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Which RRSA way is configured: "webhook", "manual" or "". Fails on a half or mixed setup. */}}
{{- define "ecs-keypair-operator.rrsaMode" -}}
{{- $r := .Values.credentials.rrsa }}
{{- if and (or $r.roleArn $r.oidcProviderArn) (not (and $r.roleArn $r.oidcProviderArn)) }}
{{- fail "credentials.rrsa.roleArn and credentials.rrsa.oidcProviderArn go together" }}
{{- end }}
{{- if and $r.roleName $r.roleArn }}
{{- fail "set credentials.rrsa.roleName (with the pod-identity webhook) or credentials.rrsa.roleArn and oidcProviderArn (without it), not both" }}
{{- end }}
{{- if and .Values.credentials.existingSecret (or $r.roleName $r.roleArn) }}
{{- fail "set credentials.existingSecret or credentials.rrsa, not both: the manager prefers static keys and would never use the role" }}
{{- end }}
{{- if $r.roleName }}webhook{{ else if $r.roleArn }}manual{{ end }}
{{- end }}

{{/* The manager's image: repository@digest when a digest is given (the tag is then ignored). */}}
{{- define "ecs-keypair-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Name of the metrics Service port, after its scheme (the ServiceMonitor refers to it). */}}
{{- define "ecs-keypair-operator.metricsPortName" -}}
{{- if .Values.metrics.secure }}https{{ else }}http-metrics{{ end }}
{{- end }}
