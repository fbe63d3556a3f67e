{{/* The webhook's image: repository:tag, the tag defaulting to appVersion. */}}
{{- define "paved.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The sidecar image the webhook injects, for paved.yaml. */}}
{{- define "paved.sidecarImage" -}}
{{ .Values.sidecar.image.repository }}:{{ .Values.sidecar.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Namespaces no webhook evaluates: the configured ones and paved's own. */}}
{{- define "paved.ignoredNamespaces" -}}
{{ concat .Values.ignoredNamespaces (list .Values.namespace) | uniq | toJson }}
{{- end -}}

{{/* The clientConfig of every webhook; $path is /mutate or /validate. */}}
{{- define "paved.clientConfig" -}}
clientConfig:
  service:
    name: paved-webhook
    namespace: {{ .root.Values.namespace }}
    path: {{ .path }}
    port: 443
{{- end -}}
