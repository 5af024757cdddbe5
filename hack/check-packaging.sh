#!/usr/bin/env bash
# Checks of the install manifests, run by `make kustomize-build`, `make helm-check` and `make deploy-check`:
#   hack/check-packaging.sh kustomize DEFAULT.yaml SAMPLES.yaml PROMETHEUS.yaml  (kustomize build outputs)
#   HELM=bin/helm hack/check-packaging.sh helm CHART OUTDIR        (renders the chart with several values)
#   hack/check-packaging.sh makefile OUTDIR                         (the Deployment targets of the Makefile)
# Each check prints what it looked for when it fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() { echo "check-packaging: $*" >&2; exit 1; }

# doc FILE KIND NAME: the YAML document of that kind and metadata.name (first match).
doc() {
  awk -v kind="$2" -v name="$3" '
    function flush() { if (d ~ ("(^|\n)kind: " kind "\n") && d ~ ("\n  name: " name "\n")) { printf "%s", d; found=1; exit } d="" }
    /^---$/ { flush(); next }
    { d = d $0 "\n" }
    END { if (!found) flush() }' "$1"
}

# has DOC WHAT PATTERN: fail unless the document matches the (extended) regex.
has() { grep -Eq -- "$3" <<<"$1" || fail "$2: no match for /$3/"; }
hasnt() { if grep -Eq -- "$3" <<<"$1"; then fail "$2: unexpected /$3/"; fi; }

# The manager's pod: the security settings and probes the Deployment must keep, and its own
# namespace (POD_NAMESPACE), the default of --manager-identity-namespaces.
check_deployment() {
  local d="$1" what="$2"
  [ -n "$d" ] || fail "$what: no Deployment"
  for p in 'runAsNonRoot: true' 'readOnlyRootFilesystem: true' 'allowPrivilegeEscalation: false' \
           'type: RuntimeDefault' '^ +- ALL$' 'path: /healthz' 'path: /readyz' '--leader-elect' \
           '--health-probe-bind-address=:8081' 'limits:' 'requests:' 'name: POD_NAMESPACE' 'fieldPath: metadata.namespace'; do
    has "$d" "$what" "$p"
  done
}

# rules FILE: the rules: block of a ClusterRole document, as text.
rules() { sed -n '/^rules:/,$p' <<<"$1"; }

# check_metrics_rbac FILE AUTH_ROLE AUTH_BINDING READER_ROLE SA NS WHAT: secure metrics need the
# manager to create TokenReviews and SubjectAccessReviews, and scrapers to get /metrics.
check_metrics_rbac() {
  local f="$1" what="$7"
  local auth; auth="$(doc "$f" ClusterRole "$2")"
  has "$auth" "$what metrics-auth ClusterRole" 'tokenreviews'
  has "$auth" "$what metrics-auth ClusterRole" 'subjectaccessreviews'
  local bind; bind="$(doc "$f" ClusterRoleBinding "$3")"
  has "$bind" "$what metrics-auth ClusterRoleBinding" "^  name: $2\$"
  has "$bind" "$what metrics-auth ClusterRoleBinding" "^  name: $5\$"
  has "$bind" "$what metrics-auth ClusterRoleBinding" "^  namespace: $6\$"
  local reader; reader="$(doc "$f" ClusterRole "$4")"
  has "$reader" "$what metrics-reader ClusterRole" '/metrics'
  has "$reader" "$what metrics-reader ClusterRole" '(- get|\["get"\])'
}

# check_dashboard CONFIGMAP WHAT: the dashboard JSON in the ConfigMap parses and queries only the
# operator's metrics that exist: the names registered in controllers/ and internal/ecs/ (a
# histogram's series carry a _bucket, _sum or _count suffix).
check_dashboard() {
  local known
  known="$(grep -rhoE --include='*.go' --exclude='*_test.go' 'Name: +"ecs_keypair_operator_[a-z_]+"' controllers internal/ecs |
    grep -oE 'ecs_keypair_operator_[a-z_]+' | sort -u | paste -sd'|')"
  [ -n "$known" ] || fail "$2: found no metric names in controllers/ and internal/ecs/"
  known="($known)(_bucket|_sum|_count)?"
  local json
  json="$(sed -n '/^  ecs-keypair-operator\.json: |/,$p' <<<"$1" | tail -n +2 | sed 's/^    //')"
  [ -n "$json" ] || fail "$2: no dashboard JSON"
  local exprs
  exprs="$(go run ./hack/dashboardexprs <<<"$json")" ||
    fail "$2: the dashboard is not JSON with queries"
  local m
  for m in $(grep -Eo 'ecs_keypair_operator_[a-z_]+' <<<"$exprs" | sort -u); do
    grep -Eqx "$known" <<<"$m" || fail "$2: the dashboard queries $m, which the manager does not export"
  done
  for m in instances reboots_total reboots_in_flight reboot_max_concurrent ecs_calls_total ecs_rate_limit_qps; do
    grep -q "ecs_keypair_operator_$m" <<<"$exprs" || fail "$2: no panel queries ecs_keypair_operator_$m"
  done
}

# check_aggregation FILE NAME_FORMAT WHAT VIEW EDIT ADMIN: which user ClusterRoles carry an
# aggregate-to label (NAME_FORMAT has a %s for viewer, editor or admin). They exist either way.
check_aggregation() {
  local f="$1" fmt="$2" what="$3" want role into d
  for spec in "viewer view $4" "editor edit $5" "admin admin $6"; do
    read -r role into want <<<"$spec"
    # shellcheck disable=SC2059 # the format is ours
    d="$(doc "$f" ClusterRole "$(printf "$fmt" "$role")")"
    [ -n "$d" ] || fail "$what: no ClusterRole $(printf "$fmt" "$role")"
    if [ "$want" = true ]; then has "$d" "$what $role ClusterRole" "aggregate-to-$into: \"true\""
    else hasnt "$d" "$what $role ClusterRole" "aggregate-to-"; fi
  done
}

case "${1:-}" in
kustomize)
  default="$2" samples="$3" prometheus="$4"
  ns=ecs-keypair-operator-system
  has "$(doc "$default" Namespace $ns)" "Namespace $ns" "name: $ns"
  has "$(doc "$default" CustomResourceDefinition keypairdetachments.ecs.keypairs.dev)" CRD 'group: ecs.keypairs.dev'
  has "$(doc "$default" CustomResourceDefinition keypairattachments.ecs.keypairs.dev)" "attachment CRD" 'kind: KeyPairAttachment'
  sa="$(doc "$default" ServiceAccount ecs-keypair-operator-controller-manager)"
  has "$sa" ServiceAccount "namespace: $ns"
  role="$(doc "$default" ClusterRole ecs-keypair-operator-manager-role)"
  [ "$(rules "$role")" = "$(sed -n '/^rules:/,$p' config/rbac/role.yaml)" ] || fail "ClusterRole manager-role differs from config/rbac/role.yaml"
  has "$(doc "$default" ClusterRoleBinding ecs-keypair-operator-manager-rolebinding)" ClusterRoleBinding 'name: ecs-keypair-operator-manager-role'
  has "$(doc "$default" Role ecs-keypair-operator-leader-election-role)" "leader election Role" 'leases'
  has "$(doc "$default" RoleBinding ecs-keypair-operator-leader-election-rolebinding)" "leader election RoleBinding" "namespace: $ns"
  # Unscoped by default, so the manager needs the cluster-wide Lease's Role, in kube-system.
  lrole="$(doc "$default" Role ecs-keypair-operator-cluster-lease-role)"
  has "$lrole" "cluster-lease Role" 'namespace: kube-system'
  has "$lrole" "cluster-lease Role" 'leases'
  lbind="$(doc "$default" RoleBinding ecs-keypair-operator-cluster-lease-rolebinding)"
  has "$lbind" "cluster-lease RoleBinding" 'namespace: kube-system'
  has "$lbind" "cluster-lease RoleBinding" '^  name: ecs-keypair-operator-controller-manager$'
  has "$lbind" "cluster-lease RoleBinding" "^  namespace: $ns\$"
  check_metrics_rbac "$default" ecs-keypair-operator-metrics-auth-role ecs-keypair-operator-metrics-auth-rolebinding \
    ecs-keypair-operator-metrics-reader ecs-keypair-operator-controller-manager "$ns" kustomize
  check_aggregation "$default" ecs-keypair-operator-keypairdetachment-%s-role kustomize true false false
  svc="$(doc "$default" Service ecs-keypair-operator-controller-manager-metrics-service)"
  has "$svc" "metrics Service" 'targetPort: metrics'
  has "$svc" "metrics Service" 'port: 8443'
  dep="$(doc "$default" Deployment ecs-keypair-operator-controller-manager)"
  check_deployment "$dep" "kustomize Deployment"
  has "$dep" "kustomize Deployment" 'serviceAccountName: ecs-keypair-operator-controller-manager'
  has "$dep" "kustomize Deployment" '--metrics-bind-address=:8443'
  has "$dep" "kustomize Deployment" 'containerPort: 8443'
  hasnt "$dep" "kustomize Deployment" '--metrics-secure=false'
  # config/prometheus scrapes the metrics Service's https port with Prometheus' own token.
  mon="$(doc "$prometheus" ServiceMonitor controller-manager-metrics-monitor)"
  for p in 'port: https' 'scheme: https' 'bearerTokenFile: /var/run/secrets/kubernetes\.io/serviceaccount/token' \
           'insecureSkipVerify: true' 'control-plane: controller-manager'; do
    has "$mon" "config/prometheus ServiceMonitor" "$p"
  done
  has "$svc" "metrics Service (the ServiceMonitor's port)" 'name: https'
  n=$(grep -c '^kind: KeyPairDetachment$' "$samples" || true)
  [ "$n" = 3 ] || fail "config/samples: $n KeyPairDetachments, want 3"
  has "$(doc "$samples" KeyPairDetachment retire-finance-key-reboot)" "reboot sample" 'enabled: true'
  has "$(doc "$samples" KeyPairDetachment retire-ops-key)" "credentials sample" 'name: ecs-credentials'
  has "$(doc "$samples" Secret ecs-credentials)" "sample Secret" 'accessKeySecret:'
  echo "kustomize: config/default ($(grep -c '^kind:' "$default") objects) and config/samples ($(grep -c '^kind:' "$samples") objects) and config/prometheus are as expected"
  ;;
helm)
  chart="$2" out="$3"
  : "${HELM:?HELM must name the helm binary}"
  mkdir -p "$out"
  render() { local name="$1"; shift; "$HELM" template kpd "$chart" --namespace ops "$@" > "$out/helm-$name.yaml"; echo "$out/helm-$name.yaml"; }

  f=$(render default)
  what="helm Deployment (defaults)"
  dep="$(doc "$f" Deployment kpd-ecs-keypair-operator)"
  check_deployment "$dep" "$what"
  for p in '--metrics-bind-address=:8443' 'containerPort: 8443' '--cluster-lease-namespace=kube-system' \
           'image: "ghcr\.io/keypairs-dev/ecs-keypair-operator:0\.1\.0"'; do
    has "$dep" "$what" "$p"
  done
  for p in 'ALIBABA_CLOUD_' '- --metrics-secure' '- --watch-namespaces' '- --manager-identity-namespaces'; do
    hasnt "$dep" "$what" "$p"
  done
  role="$(doc "$f" ClusterRole kpd-ecs-keypair-operator-manager)"
  [ "$(rules "$role")" = "$(sed -n '/^rules:/,$p' config/rbac/role.yaml)" ] || fail "the chart's ClusterRole differs from config/rbac/role.yaml"
  has "$(doc "$f" ClusterRoleBinding kpd-ecs-keypair-operator-manager)" "helm ClusterRoleBinding" 'namespace: ops'
  has "$(doc "$f" Role kpd-ecs-keypair-operator-leader-election)" "helm leader election Role" 'leases'
  lrole="$(doc "$f" Role kpd-ecs-keypair-operator-cluster-lease)"
  has "$lrole" "helm cluster-lease Role (unscoped)" '^  namespace: kube-system$'
  has "$lrole" "helm cluster-lease Role (unscoped)" 'leases'
  lbind="$(doc "$f" RoleBinding kpd-ecs-keypair-operator-cluster-lease)"
  has "$lbind" "helm cluster-lease RoleBinding (unscoped)" '^  namespace: kube-system$'
  has "$lbind" "helm cluster-lease RoleBinding (unscoped)" '^  namespace: ops$'
  check_metrics_rbac "$f" kpd-ecs-keypair-operator-metrics-auth kpd-ecs-keypair-operator-metrics-auth \
    kpd-ecs-keypair-operator-metrics-reader kpd-ecs-keypair-operator ops "helm (defaults)"
  [ -z "$(doc "$f" ClusterRoleBinding kpd-ecs-keypair-operator-metrics-reader)" ] || fail "helm (defaults): a metrics-reader binding without metrics.reader.subjects"
  check_aggregation "$f" kpd-ecs-keypair-operator-keypairdetachment-%s "helm (defaults)" true false false
  svc="$(doc "$f" Service kpd-ecs-keypair-operator-metrics)"
  has "$svc" "helm metrics Service" 'targetPort: metrics'
  has "$svc" "helm metrics Service" 'port: 8443'
  has "$svc" "helm metrics Service" 'name: https'
  hasnt "$(doc "$f" ServiceAccount kpd-ecs-keypair-operator)" "helm ServiceAccount (defaults)" 'pod-identity'
  for k in NetworkPolicy ServiceMonitor ConfigMap; do hasnt "$f" "helm (defaults: optional objects off)" "^kind: $k\$"; done

  # Every optional object on, with secure metrics.
  cat > "$out/values-extras.yaml" <<'VALUES'
image:
  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  tag: ignored-when-a-digest-is-set
metrics:
  reader:
    subjects:
    - kind: ServiceAccount
      name: prometheus-k8s
      namespace: monitoring
  serviceMonitor:
    enabled: true
    interval: 15s
    labels:
      release: prometheus
grafana:
  dashboard:
    enabled: true
    namespace: monitoring
    annotations:
      grafana_folder: Operators
networkPolicy:
  enabled: true
  apiServer:
    cidrs: [10.0.0.10/32]
  ecs:
    cidrs: [100.100.0.0/16]
  metrics:
    from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: monitoring
VALUES
  "$HELM" lint --strict "$chart" -f "$out/values-extras.yaml" >/dev/null || fail "helm lint --strict with $out/values-extras.yaml failed"
  f=$(render extras -f "$out/values-extras.yaml")
  what="helm (extras)"
  dep="$(doc "$f" Deployment kpd-ecs-keypair-operator)"
  check_deployment "$dep" "$what Deployment"
  has "$dep" "$what Deployment: digest" 'image: "ghcr\.io/keypairs-dev/ecs-keypair-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"'
  hasnt "$dep" "$what Deployment: tag ignored" 'ignored-when-a-digest-is-set'
  rb="$(doc "$f" ClusterRoleBinding kpd-ecs-keypair-operator-metrics-reader)"
  for p in '^  name: kpd-ecs-keypair-operator-metrics-reader$' '^  name: prometheus-k8s$' '^  namespace: monitoring$'; do
    has "$rb" "$what metrics-reader ClusterRoleBinding" "$p"
  done
  sm="$(doc "$f" ServiceMonitor kpd-ecs-keypair-operator)"
  for p in 'apiVersion: monitoring\.coreos\.com/v1' '^    release: prometheus$' '^  - port: https$' 'path: /metrics' \
           'interval: 15s' 'scheme: https' 'bearerTokenFile: /var/run/secrets/kubernetes\.io/serviceaccount/token' \
           'insecureSkipVerify: true' 'control-plane: controller-manager' '^    - ops$'; do
    has "$sm" "$what ServiceMonitor" "$p"
  done
  cm="$(doc "$f" ConfigMap kpd-ecs-keypair-operator-dashboard)"
  for p in '^  namespace: monitoring$' '^    grafana_dashboard: "1"$' '^    grafana_folder: Operators$' '^  ecs-keypair-operator\.json: \|-?$'; do
    has "$cm" "$what dashboard ConfigMap" "$p"
  done
  check_dashboard "$cm" "$what dashboard ConfigMap"
  np="$(doc "$f" NetworkPolicy kpd-ecs-keypair-operator)"
  for p in '^  - Ingress$' '^  - Egress$' 'port: metrics' 'kubernetes.io/metadata.name: monitoring' \
           'k8s-app: kube-dns' 'port: 53' 'protocol: UDP' 'cidr: 10\.0\.0\.10/32' 'port: 6443' 'cidr: 100\.100\.0\.0/16' \
           'app.kubernetes.io/instance: kpd'; do
    has "$np" "$what NetworkPolicy" "$p"
  done
  hasnt "$np" "$what NetworkPolicy: ingress is metrics only" 'port: (health|8081)'

  # Scoped, plain-HTTP metrics, aggregation opted in.
  f=$(render scoped --set 'watchNamespaces={team-a,team-b}' --set 'managerIdentityNamespaces={platform,ops}' \
        --set metrics.secure=false --set metrics.serviceMonitor.enabled=true \
        --set rbac.aggregateToEdit=true --set rbac.aggregateToAdmin=true --set rbac.aggregateToView=false)
  what="helm (scoped, insecure metrics)"
  dep="$(doc "$f" Deployment kpd-ecs-keypair-operator)"
  check_deployment "$dep" "$what Deployment"
  for p in '--watch-namespaces=team-a,team-b' '--manager-identity-namespaces=platform,ops' '--metrics-secure=false' \
           '--metrics-bind-address=:8443'; do
    has "$dep" "$what Deployment" "$p"
  done
  hasnt "$dep" "$what Deployment" '--cluster-lease-namespace'
  [ -z "$(doc "$f" Role kpd-ecs-keypair-operator-cluster-lease)" ] || fail "$what: a cluster-lease Role although watchNamespaces is set"
  has "$(doc "$f" Role kpd-ecs-keypair-operator-leader-election)" "$what leader election Role" '^  namespace: ops$'
  [ -z "$(doc "$f" ClusterRole kpd-ecs-keypair-operator-metrics-auth)" ] || fail "$what: a metrics-auth ClusterRole with metrics.secure=false"
  check_aggregation "$f" kpd-ecs-keypair-operator-keypairdetachment-%s "$what" false true true
  has "$(doc "$f" Service kpd-ecs-keypair-operator-metrics)" "$what metrics Service" 'name: http-metrics'
  sm="$(doc "$f" ServiceMonitor kpd-ecs-keypair-operator)"
  has "$sm" "$what ServiceMonitor" 'scheme: http$'
  has "$sm" "$what ServiceMonitor" 'port: http-metrics'
  hasnt "$sm" "$what ServiceMonitor" 'bearerTokenFile|tlsConfig'

  f=$(render secret --set credentials.existingSecret=ecs-credentials --set ecs.endpoint=https://ecs-vpc.cn-hangzhou.aliyuncs.com)
  dep="$(doc "$f" Deployment kpd-ecs-keypair-operator)"
  has "$dep" "helm Deployment (existingSecret)" 'name: ALIBABA_CLOUD_ACCESS_KEY_ID'
  has "$dep" "helm Deployment (existingSecret)" 'name: ecs-credentials'
  has "$dep" "helm Deployment (existingSecret)" '--ecs-endpoint=https://ecs-vpc.cn-hangzhou.aliyuncs.com'

  f=$(render rrsa-webhook --set credentials.rrsa.roleName=ecs-keypair-operator)
  has "$(doc "$f" ServiceAccount kpd-ecs-keypair-operator)" "helm ServiceAccount (RRSA webhook)" 'pod-identity.alibabacloud.com/role-name: ecs-keypair-operator'
  hasnt "$(doc "$f" Deployment kpd-ecs-keypair-operator)" "helm Deployment (RRSA webhook: the webhook injects the env)" 'ALIBABA_CLOUD_ROLE_ARN'

  f=$(render rrsa-manual --set credentials.rrsa.roleArn=acs:ram::1234567890:role/ecs-keypair-operator \
        --set credentials.rrsa.oidcProviderArn=acs:ram::1234567890:oidc-provider/ack-rrsa-c0123 --set credentials.rrsa.stsRegion=cn-hangzhou)
  dep="$(doc "$f" Deployment kpd-ecs-keypair-operator)"
  check_deployment "$dep" "helm Deployment (RRSA manual)"
  for p in 'name: ALIBABA_CLOUD_ROLE_ARN' 'value: "acs:ram::1234567890:role/ecs-keypair-operator"' 'name: ALIBABA_CLOUD_OIDC_PROVIDER_ARN' \
           'value: /var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token' 'name: ALIBABA_CLOUD_STS_REGION' \
           'audience: "sts.aliyuncs.com"' 'mountPath: /var/run/secrets/ack.alibabacloud.com/rrsa-tokens'; do
    has "$dep" "helm Deployment (RRSA manual)" "$p"
  done

  f=$(render no-metrics --set metrics.enabled=false --set leaderElection.enabled=false --set networkPolicy.enabled=true \
        --set metrics.serviceMonitor.enabled=true)
  dep="$(doc "$f" Deployment kpd-ecs-keypair-operator)"
  has "$dep" "helm Deployment (metrics off)" '--metrics-bind-address=0'
  hasnt "$dep" "helm Deployment (metrics off)" '--metrics-secure|containerPort: 8443'
  hasnt "$dep" "helm Deployment (leader election off)" '--leader-elect'
  for k in Service ServiceMonitor; do hasnt "$f" "helm (metrics off)" "^kind: $k\$"; done
  hasnt "$f" "helm (metrics off)" 'metrics-(auth|reader)'
  has "$(doc "$f" NetworkPolicy kpd-ecs-keypair-operator)" "helm NetworkPolicy (metrics off: no ingress)" '^  ingress: \[\]$'

  # Values that must be refused, with a message.
  refuse() {
    local want="$1"; shift
    if msg=$("$HELM" template kpd "$chart" "$@" 2>&1 >/dev/null); then fail "helm template $* succeeded; want an error"; fi
    grep -q -- "$want" <<<"$msg" || fail "helm template $*: error without \"$want\": $msg"
  }
  refuse 'go together' --set credentials.rrsa.roleArn=acs:ram::1:role/x
  refuse 'not both' --set credentials.existingSecret=s --set credentials.rrsa.roleName=x
  refuse 'not both' --set credentials.rrsa.roleName=x --set credentials.rrsa.roleArn=a --set credentials.rrsa.oidcProviderArn=b
  refuse 'needs leaderElection.enabled' --set replicaCount=2 --set leaderElection.enabled=false
  # values.schema.json: a typo fails instead of being ignored.
  refuse "additional properties 'metricz' not allowed" --set metricz.port=1
  refuse "additional properties 'prot' not allowed" --set metrics.prot=1
  refuse "additional properties 'aggregateToDefaultRoles' not allowed" --set rbac.aggregateToDefaultRoles=true
  refuse "additional properties 'enabeld' not allowed" --set networkPolicy.enabeld=true
  refuse "does not match pattern" --set image.digest=latest
  refuse "does not match pattern" --set 'watchNamespaces={Team_A}'
  echo "helm: chart renders as expected with default, Secret, RRSA (webhook and manual), extras, scoped and metrics-off values; bad values are refused"
  ;;
makefile)
  out="$2"
  mkdir -p "$out"
  img=example/ecs-keypair-operator:v1
  # The Deployment targets need a cluster and a container tool: check the commands they print.
  cmds="$(${MAKE:-make} -s --no-print-directory -n install uninstall deploy undeploy docker-build docker-push \
            IMG=$img CONTAINER_TOOL=podman KUBECTL=kubectl)"
  for p in 'kustomize build config/crd \| kubectl apply -f -$' 'kustomize build config/crd \| kubectl delete --ignore-not-found -f -$' \
           "kustomize edit set image controller=$img\\)" 'kustomize build "\$tmp/config/default" \| kubectl apply -f -$' \
           'kustomize build config/default \| kubectl delete --ignore-not-found -f -$' "^podman build -t $img \\.$" "^podman push $img$"; do
    has "$cmds" "make -n (Deployment targets)" "$p"
  done
  # And run deploy and install for real, against a kubectl that only records what it is given.
  stub="$out/kubectl-stub"
  printf '#!/bin/sh\nprintf "%%s\\n" "$*" >> "%s/kubectl-args"\ncat >> "%s/kubectl-stdin.yaml"\n' "$out" "$out" > "$stub"
  chmod +x "$stub"
  rm -f "$out/kubectl-args" "$out/kubectl-stdin.yaml"
  before="$(git status --porcelain -- config)"
  ${MAKE:-make} -s --no-print-directory deploy IMG=$img KUBECTL="$stub" >/dev/null
  [ "$(git status --porcelain -- config)" = "$before" ] || fail "make deploy changed files under config/"
  has "$(cat "$out/kubectl-args")" "make deploy (kubectl arguments)" '^apply -f -$'
  dep="$(doc "$out/kubectl-stdin.yaml" Deployment ecs-keypair-operator-controller-manager)"
  has "$dep" "make deploy (Deployment)" "image: $img\$"
  check_deployment "$dep" "make deploy (Deployment)"
  rm -f "$out/kubectl-stdin.yaml"
  ${MAKE:-make} -s --no-print-directory install KUBECTL="$stub" >/dev/null
  n=$(grep -c '^kind: ' "$out/kubectl-stdin.yaml")
  [ "$n" = 2 ] || fail "make install applied $n objects, want the two CRDs alone"
  has "$(cat "$out/kubectl-stdin.yaml")" "make install" 'name: keypairdetachments.ecs.keypairs.dev'
  has "$(cat "$out/kubectl-stdin.yaml")" "make install" 'name: keypairattachments.ecs.keypairs.dev'
  echo "makefile: install, uninstall, deploy, undeploy, docker-build and docker-push print the expected commands; deploy applies IMG without changing config/"
  ;;
*)
  fail "usage: $0 kustomize DEFAULT SAMPLES PROMETHEUS | helm CHART OUTDIR | makefile OUTDIR"
  ;;
esac
