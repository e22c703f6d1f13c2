{{/* The release's full name, at most 63 characters (a DNS label). */}}
{{- define "live360-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "live360-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "live360-operator.labels" -}}
{{ include "live360-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "live360-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "live360-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Where VodJobs made from queue messages live (and the worker ServiceAccount with them). */}}
{{- define "live360-operator.vodNamespace" -}}
{{- default .Release.Namespace .Values.vod.namespace -}}
{{- end -}}

{{/* A map as key=value pairs, by key, joined by commas: the form of the operator's --vod-job-* list flags. */}}
{{- define "live360-operator.keyValues" -}}
{{- $pairs := list -}}
{{- range $key, $value := . -}}
{{- $pairs = append $pairs (printf "%s=%v" $key $value) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/*
The rules the operator needs in each namespace it watches: exactly the verbs its controllers use.
Informers list and watch; children are server-side applied (create + patch) and pruned (delete);
LiveEvent finalizers are a metadata patch; status is applied to the status subresource; Events are
created. "update" on the finalizers subresources lets children carry blockOwnerDeletion owner references where the
OwnerReferencesPermissionEnforcement admission plugin is on.
*/}}
{{- define "live360-operator.namespacedRules" -}}
- apiGroups: ["live360.io"]
  resources: ["liveevents"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["live360.io"]
  resources: ["vodjobs"]
  verbs: ["list", "watch", "create", "patch"]
- apiGroups: ["live360.io"]
  resources: ["liveevents/status", "vodjobs/status"]
  verbs: ["patch"]
- apiGroups: ["live360.io"]
  resources: ["liveevents/finalizers", "vodjobs/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["statefulsets", "deployments"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "configmaps"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "watch", "create", "patch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["list", "watch", "create", "patch", "delete"]
# The publish key Secret generated for a LiveEvent that names none: read to see that it exists, made
# once. Never listed or watched: the operator holds no other Secret's contents.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create"]
{{- if and .Values.workloads.edgeCdn.originVerifyFrom .Values.workloads.edgeCdn.originVerifySecret }}
# The CDN's origin-verify values copied from Secrets Manager: server-side apply of exactly this Secret.
- apiGroups: [""]
  resources: ["secrets"]
  resourceNames: [{{ .Values.workloads.edgeCdn.originVerifySecret | quote }}]
  verbs: ["patch"]
{{- end }}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}
