{{- define "sluice.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sluice.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sluice.brokerSelector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: broker
{{- end -}}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sluice.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "sluice.webhookSelector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "sluice.webhookService" -}}
{{ include "sluice.fullname" . }}-webhook
{{- end -}}

{{/* The webhook's TLS Secret; fails the render unless exactly one TLS source is configured. */}}
{{- define "sluice.webhookTLSSecret" -}}
{{- $tls := .Values.webhook.tls -}}
{{- $certManager := ($tls.certManager).enabled -}}
{{- if and $certManager $tls.existingSecret -}}
{{- fail "webhook.tls: set either tls.existingSecret (+ tls.caBundle) or tls.certManager.enabled, not both" -}}
{{- else if $certManager -}}
{{ include "sluice.fullname" . }}-webhook-tls
{{- else if and $tls.existingSecret $tls.caBundle -}}
{{ $tls.existingSecret }}
{{- else if $tls.existingSecret -}}
{{- fail "webhook.tls.existingSecret needs webhook.tls.caBundle (base64 PEM of the CA that signed it)" -}}
{{- else -}}
{{- fail "webhook.enabled needs TLS: set webhook.tls.certManager.enabled=true, or webhook.tls.existingSecret and webhook.tls.caBundle" -}}
{{- end -}}
{{- end -}}
