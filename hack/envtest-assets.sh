#!/usr/bin/env bash
# Provides the envtest control plane (kube-apiserver and etcd): setup-envtest's download where
# there is internet, else a build from the Go module proxy (ENVTEST_FROM_SOURCE=1 skips the
# download attempt). Idempotent: a built binary that already reports the wanted version is kept. Prints the assets folder on stdout
# (last line); progress goes to stderr.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.7.3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${ROOT}/bin"
OUT="${BIN}/k8s/${K8S_VERSION}-$(go env GOOS)-$(go env GOARCH)"
WORK="${BIN}/envtest-build"

say() { printf '[envtest-assets] %s\n' "$*" >&2; }

mkdir -p "${OUT}" "${WORK}"

# Two `make test` runs at once must not build into the same folder.
exec 9>"${BIN}/.envtest-assets.lock"
flock 9

reports_version() {
  local binary=$1 want=$2 out
  [ -x "${binary}" ] || return 1
  # Capture first: `| grep -q` under pipefail fails at random when grep exits early.
  out="$("${binary}" --version 2>&1 || true)"
  [[ "${out}" == *"${want}"* ]]
}

build_kube_apiserver() {
  local dir="${WORK}/kubernetes-v${K8S_VERSION}"
  mkdir -p "${dir}"
  say "Fetching k8s.io/kubernetes v${K8S_VERSION} sources (~550 MB of modules on first use; a few minutes)"
  local kmod
  kmod="$(cd "${dir}" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  [ -f "${kmod}" ] || { say "Could not locate go.mod of k8s.io/kubernetes"; exit 1; }
  local goline godebug staging
  goline="$(grep -m1 '^go ' "${kmod}")"
  godebug="$(grep '^godebug ' "${kmod}" || true)"
  # Staging modules that kubernetes both requires and replaces with ./staging paths; each is
  # published under the matching v0.x tag.
  staging="$(awk '
    /^require[ \t]*\(/ {inreq=1; next}
    /^replace[ \t]*\(/ {inrep=1; next}
    /^\)/ {inreq=0; inrep=0; next}
    inreq && $1 ~ /^k8s\.io\// {req[$1]=1}
    inrep && $3 ~ /^\.\/staging\// {rep[$1]=1}
    END {for (m in rep) if (m in req) print m}
  ' "${kmod}" | sort)"
  {
    echo "module envtest-assets/kubernetes"
    echo
    echo "${goline}"
    [ -n "${godebug}" ] && echo "${godebug}"
    echo
    echo "require k8s.io/kubernetes v${K8S_VERSION}"
    echo
    echo "replace ("
    for m in ${staging}; do echo "	${m} => ${m} v0.${K8S_VERSION#1.}"; done
    echo ")"
  } > "${dir}/go.mod"
  (cd "${dir}" && GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/kube-apiserver@v${K8S_VERSION}" >&2)
  say "Building kube-apiserver v${K8S_VERSION} (cold: 9-13 minutes on 2 cores; with a warm Go build cache: ~15 s)"
  local minor="${K8S_VERSION#1.}"; minor="${minor%%.*}"
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X ${pkg}.gitVersion=v${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
  done
  (cd "${dir}" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "${ld}" \
    -o "${OUT}/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
}

build_etcd() {
  local dir="${WORK}/etcd-v${ETCD_VERSION}"
  mkdir -p "${dir}"
  printf 'module envtest-assets/etcd\n\ngo 1.25\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "${ETCD_VERSION}" > "${dir}/go.mod"
  say "Fetching go.etcd.io/etcd/server/v3 v${ETCD_VERSION}"
  (cd "${dir}" && GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >&2)
  say "Building etcd v${ETCD_VERSION} (cold: 1.5-2.5 minutes on 2 cores)"
  (cd "${dir}" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" \
    -o "${OUT}/etcd" go.etcd.io/etcd/server/v3)
}

# With internet, setup-envtest downloads the same binaries in seconds. Without it, it fails at
# once (no route), and the binaries are built from source instead.
try_setup_envtest() {
  local tool="${BIN}/setup-envtest" path
  say "Trying setup-envtest (download; pinned in hack/tools/setup-envtest/go.mod)"
  if ! go build -C "${ROOT}/hack/tools/setup-envtest" -o "${tool}" sigs.k8s.io/controller-runtime/tools/setup-envtest 2>&2; then
    say "Could not build setup-envtest; building the control plane from source"
    return 1
  fi
  if path="$(timeout 60 "${tool}" use "${K8S_VERSION}" --bin-dir "${BIN}/setup-envtest-assets" -p path 2>/dev/null)" &&
    [ -x "${path}/kube-apiserver" ] && [ -x "${path}/etcd" ]; then
    say "Using binaries downloaded by setup-envtest in ${path}"
    echo "${path}"
    return 0
  fi
  say "setup-envtest could not download Kubernetes ${K8S_VERSION} (no internet here?); building from source instead"
  return 1
}

start=$(date +%s)
if ! { reports_version "${OUT}/etcd" "${ETCD_VERSION}" && reports_version "${OUT}/kube-apiserver" "v${K8S_VERSION}"; } &&
  [ "${ENVTEST_FROM_SOURCE:-}" != "1" ] && try_setup_envtest; then
  exit 0
fi
if reports_version "${OUT}/etcd" "${ETCD_VERSION}"; then
  say "etcd v${ETCD_VERSION} already built"
else
  build_etcd
fi
if reports_version "${OUT}/kube-apiserver" "v${K8S_VERSION}"; then
  say "kube-apiserver v${K8S_VERSION} already built"
else
  build_kube_apiserver
fi
say "Control plane ready in ${OUT} ($(( $(date +%s) - start ))s)"
echo "${OUT}"
