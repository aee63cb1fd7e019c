{{/* The worker Deployment's name: the release's name plus "-worker". */}}
{{- define "qscale.worker" -}}
{{- printf "%s-worker" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The autoscaler's name (Deployment, ConfigMap, ServiceAccount, Role). */}}
{{- define "qscale.autoscaler" -}}
{{- printf "%s-autoscaler" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "qscale.labels" -}}
app.kubernetes.io/part-of: qscale
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
