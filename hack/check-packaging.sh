#!/usr/bin/env bash
# Checks of the install manifests, run by `make kustomize-build` and `make helm-check`:
#   hack/check-packaging.sh kustomize DEFAULT.yaml SAMPLES.yaml   (kustomize build outputs)
#   HELM=bin/helm hack/check-packaging.sh helm CHART OUTDIR        (renders the chart with several values)
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
  default="$2" samples="$3"
  ns=ecs-keypair-operator-system
  has "$(doc "$default" Namespace $ns)" "Namespace $ns" "name: $ns"
  has "$(doc "$default" CustomResourceDefinition keypairdetachments.ecs.keypairs.dev)" CRD 'group: ecs.keypairs.dev'
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
  n=$(grep -c '^kind: KeyPairDetachment$' "$samples" || true)
  [ "$n" = 3 ] || fail "config/samples: $n KeyPairDetachments, want 3"
  has "$(doc "$samples" KeyPairDetachment retire-finance-key-reboot)" "reboot sample" 'enabled: true'
  has "$(doc "$samples" KeyPairDetachment retire-ops-key)" "credentials sample" 'name: ecs-credentials'
  has "$(doc "$samples" Secret ecs-credentials)" "sample Secret" 'accessKeySecret:'
  echo "kustomize: config/default ($(grep -c '^kind:' "$default") objects) and config/samples ($(grep -c '^kind:' "$samples") objects) are as expected"
  ;;
helm)
  chart="$2" out="$3"
  : "${HELM:?HELM must name the helm binary}"
  mkdir -p "$out"
  render() { local name="$1"; shift; "$HELM" template kpd "$chart" --namespace ops "$@" > "$out/helm-$name.yaml"; echo "$out/helm-$name.yaml"; }

  f=$(render default)
  dep="$(doc "$f" Deployment kpd-ecs-keypair-operator)"
  check_deployment "$dep" "helm Deployment (defaults)"
  has "$dep" "helm Deployment (defaults)" '--metrics-bind-address=:8080'
  hasnt "$dep" "helm Deployment (defaults)" 'ALIBABA_CLOUD_'
  role="$(doc "$f" ClusterRole kpd-ecs-keypair-operator-manager)"
  [ "$(rules "$role")" = "$(sed -n '/^rules:/,$p' config/rbac/role.yaml)" ] || fail "the chart's ClusterRole differs from config/rbac/role.yaml"
  has "$(doc "$f" ClusterRoleBinding kpd-ecs-keypair-operator-manager)" "helm ClusterRoleBinding" 'namespace: ops'
  has "$(doc "$f" Role kpd-ecs-keypair-operator-leader-election)" "helm leader election Role" 'leases'
  has "$(doc "$f" Service kpd-ecs-keypair-operator-metrics)" "helm metrics Service" 'targetPort: metrics'
  hasnt "$(doc "$f" ServiceAccount kpd-ecs-keypair-operator)" "helm ServiceAccount (defaults)" 'pod-identity'

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

  f=$(render no-metrics --set metrics.enabled=false --set leaderElection.enabled=false)
  dep="$(doc "$f" Deployment kpd-ecs-keypair-operator)"
  has "$dep" "helm Deployment (metrics off)" '--metrics-bind-address=0'
  hasnt "$dep" "helm Deployment (leader election off)" '--leader-elect'
  hasnt "$f" "helm (metrics off)" '^kind: Service$'

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
  echo "helm: chart renders as expected with default, Secret, RRSA (webhook and manual) and metrics-off values; bad values are refused"
  ;;
*)
  fail "usage: $0 kustomize DEFAULT SAMPLES | helm CHART OUTDIR"
  ;;
esac
