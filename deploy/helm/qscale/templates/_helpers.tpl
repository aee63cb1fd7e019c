{{/* The worker Deployment's name: the release's name plus "-worker". */}}
{{- define "qscale.worker" -}}
{{- printf "%s-worker" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The autoscaler's name (Deployment, ConfigMap, ServiceAccount, Role). */}}
{{- define "qscale.autoscaler" -}}
{{- printf "%s-autoscaler" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The qscale server's name (StatefulSet, Service, ConfigMap of queues). */}}
{{- define "qscale.server" -}}
{{- printf "%s-server" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Lease the autoscalers compete for: qscale's default, the worker
Deployment's name followed by "-autoscaler". */}}
{{- define "qscale.lease" -}}
{{- printf "%s-autoscaler" (include "qscale.worker" .) -}}
{{- end -}}

{{/* qscale's image, tagged with the chart's appVersion by default. */}}
{{- define "qscale.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Labels on every object; Helm's own ones only in a Helm release (the raw
manifests of deploy/kubernetes are rendered with helmLabels: false). */}}
{{- define "qscale.labels" -}}
app.kubernetes.io/part-of: qscale
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Values.helmLabels }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
{{- end -}}

{{/* The server's access key, for the containers that sign requests to it. */}}
{{- define "qscale.accessKeyEnv" -}}
{{- if and .Values.server.enabled .Values.server.accessKeySecret -}}
envFrom:
  - secretRef:
      name: {{ .Values.server.accessKeySecret }}
{{- end }}
{{- end -}}
