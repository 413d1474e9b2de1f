{{/* Names shared by the chart's templates. */}}
{{- define "quidditch.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "quidditch.headlessName" -}}
{{- printf "%s-headless" (include "quidditch.fullname" .) -}}
{{- end -}}

{{- define "quidditch.secretName" -}}
{{- if .Values.clusterSecret.existingSecret -}}
{{- .Values.clusterSecret.existingSecret -}}
{{- else -}}
{{- printf "%s-cluster-secret" (include "quidditch.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "quidditch.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "quidditch.labels" -}}
{{ include "quidditch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Raft host:port of every voter, comma-separated: the same QUIDDITCH_SEED_HOSTS on each pod. */}}
{{- define "quidditch.seedHosts" -}}
{{- $fullname := include "quidditch.fullname" . -}}
{{- $headless := include "quidditch.headlessName" . -}}
{{- $seeds := list -}}
{{- range $ordinal := until (int .Values.replicaCount) -}}
{{- $seeds = append $seeds (printf "%s-%d.%s.%s.svc.cluster.local:%d" $fullname $ordinal $headless $.Release.Namespace (int $.Values.ports.raft)) -}}
{{- end -}}
{{- join "," $seeds -}}
{{- end -}}
