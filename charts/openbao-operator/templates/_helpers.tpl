{{/*
Labels every object of the release carries besides its own (the deploy/ manifests carry only their own;
tests compare the two with these removed).
*/}}
{{- define "openbao-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: openbao-operator
{{- end }}

{{/* The operator pods' selector: the same labels as deploy/operator.yaml. */}}
{{- define "openbao-operator.selectorLabels" -}}
app.kubernetes.io/name: openbao-operator
app.kubernetes.io/component: controller
{{- end }}

{{/* The ServiceAccount the operator runs as; the generated RBAC binds this name. */}}
{{- define "openbao-operator.serviceAccountName" -}}
{{- .Values.serviceAccount.name }}
{{- end }}

{{/* The image: a digest pins it; otherwise the tag, by default the chart's appVersion. */}}
{{- define "openbao-operator.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}
