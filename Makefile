# The operator's build, test and generation targets, in the kubebuilder spirit. Every tool is
# pinned: controller-gen is a go.mod tool, golangci-lint comes from hack/tools/go.mod.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

BIN ?= $(CURDIR)/bin
GOLANGCI_LINT := $(BIN)/golangci-lint
CONTROLLER_GEN := go tool controller-gen
# Packages that carry kubebuilder markers; the rest of the tree is left out so that a broken
# file elsewhere never blocks generation.
MARKER_PATHS := ./api/... ./controllers/...

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRD and the RBAC role from markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd $(foreach p,$(MARKER_PATHS),paths="$(p)") output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run gofmt.
	gofmt -l -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: manifests generate ## Fail when generated files are stale or code is not gofmt'ed.
	@stale="$$(git status --porcelain -- api config)"; \
	if [ -n "$$stale" ]; then echo "Generated files are stale; run 'make manifests generate' and commit:"; echo "$$stale"; git --no-pager diff -- api config | head -50; exit 1; fi
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "Not gofmt'ed: $$unformatted"; exit 1; fi
	@echo "Generated files and formatting are up to date."

##@ Test

.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver and etcd for envtest from the Go module proxy (first time ~12 min).
	@hack/envtest-assets.sh >/dev/null

# Callers that already have envtest binaries (setup-envtest users) keep theirs.
WITH_ASSETS = if [ -z "$${KUBEBUILDER_ASSETS:-}" ]; then KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)"; export KUBEBUILDER_ASSETS; fi;

.PHONY: test
test: manifests generate ## Run every test, envtest suites included, with the race detector.
	@$(WITH_ASSETS) echo "Using control plane in $$KUBEBUILDER_ASSETS"; \
	go test -race -count=1 -timeout 25m ./... -coverprofile cover.out

.PHONY: test-e2e
test-e2e: manifests ## End-to-end test: the real manager and emulator binaries, generated RBAC, SIGKILLs, two installations (~2.5 min).
	@$(WITH_ASSETS) echo "Using control plane in $$KUBEBUILDER_ASSETS"; \
	go vet -tags e2e ./test/e2e/ && \
	go test -tags e2e -count=1 -timeout 10m ./test/e2e/ -v -ginkgo.v

# 45m, not 30m: the soak's faulted run may use its whole 20-minute wait (a reboot request lost
# to a SIGKILL settles only when spec.reboot.timeout, 15m, expires), after ~10 minutes of others.
.PHONY: bench
bench: ## Run the benchmarks and print their figures.
	@$(WITH_ASSETS) go test -run '^$$' -bench . -benchtime 1x -timeout 45m ./...

##@ Demo

.PHONY: demo
demo: ## Run the demo: apiserver+etcd, ECS emulator, operator, live table (1st run ~11 min). ARGS=--exit-when-done
	@if [ -z "$${KUBEBUILDER_ASSETS:-}" ]; then echo "make demo: getting kube-apiserver and etcd with hack/envtest-assets.sh; the first build takes ~11 minutes on 2 cores, later runs reuse them"; fi
	@$(WITH_ASSETS) echo "make demo: building cmd/demo (a minute or two the first time)"; \
	go build -o $(BIN)/kpd-demo ./cmd/demo && exec $(BIN)/kpd-demo $(ARGS)

##@ Build

.PHONY: build
build: manifests generate ## Build the manager and the emulator into bin/.
	go build -o $(BIN)/manager .
	go build -o $(BIN)/ecs-emulator ./cmd/ecs-emulator

.PHONY: run
run: manifests generate ## Run the manager against the current kubeconfig.
	go run . $(ARGS)

$(GOLANGCI_LINT): hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && go build -o $(GOLANGCI_LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

##@ Packaging

# kustomize and helm are pinned in hack/tools/go.mod and built from the Go module proxy.
KUSTOMIZE := $(BIN)/kustomize
HELM := $(BIN)/helm
CHART := charts/ecs-keypair-operator
CRD_FILES := ecs.keypairs.dev_keypairdetachments.yaml ecs.keypairs.dev_keypairattachments.yaml
RENDERED := $(BIN)/rendered

.PHONY: kustomize-build
kustomize-build: $(KUSTOMIZE) ## Build config/default, config/samples and config/prometheus with the pinned kustomize into bin/rendered/.
	@mkdir -p $(RENDERED)
	$(KUSTOMIZE) build config/default > $(RENDERED)/default.yaml
	$(KUSTOMIZE) build config/samples > $(RENDERED)/samples.yaml
	$(KUSTOMIZE) build config/prometheus > $(RENDERED)/prometheus.yaml
	@hack/check-packaging.sh kustomize $(RENDERED)/default.yaml $(RENDERED)/samples.yaml $(RENDERED)/prometheus.yaml

.PHONY: helm-crds
helm-crds: manifests ## Copy the generated CRD and manager ClusterRole into the Helm chart.
	for f in $(CRD_FILES); do cp config/crd/bases/$$f $(CHART)/crds/$$f; done
	cp config/rbac/role.yaml $(CHART)/files/manager-role.yaml

.PHONY: helm-check
helm-check: $(HELM) ## helm lint, helm template with many values, schema refusals; fails if the chart's CRD or RBAC copy is stale.
	@for f in $(CRD_FILES); do cmp -s config/crd/bases/$$f $(CHART)/crds/$$f || exit 1; done && cmp -s config/rbac/role.yaml $(CHART)/files/manager-role.yaml || \
	  { echo "The chart's copy of the CRD or of config/rbac/role.yaml is stale: run 'make helm-crds' and commit."; exit 1; }
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) --set credentials.rrsa.roleName=ecs-keypair-operator
	@HELM=$(HELM) hack/check-packaging.sh helm $(CHART) $(RENDERED)

.PHONY: deploy-check
deploy-check: $(KUSTOMIZE) ## Check the Deployment targets without a cluster: make -n, and deploy into a stub kubectl.
	@hack/check-packaging.sh makefile $(RENDERED)

.PHONY: package-check
package-check: manifests kustomize-build helm-check deploy-check ## kustomize build, the Helm and the Makefile checks, as CI runs them.

$(KUSTOMIZE): hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && go build -o $(KUSTOMIZE) sigs.k8s.io/kustomize/kustomize/v5

# helm's version and its default Kubernetes version come from ldflags, as its own Makefile sets them.
$(HELM): hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && v=$$(go list -m -f '{{.Version}}' helm.sh/helm/v3) && \
	  minor=$$(go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2) && \
	  go build -o $(HELM) -ldflags "-X helm.sh/helm/v3/internal/version.version=$$v \
	    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$$minor \
	    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$$minor" \
	  helm.sh/helm/v3/cmd/helm

##@ Deployment

# The image docker-build tags and deploy runs. The default suits a local cluster that is given the
# image directly (kind load docker-image); otherwise IMG=REGISTRY/ecs-keypair-operator:TAG.
IMG ?= ecs-keypair-operator:latest
CONTAINER_TOOL ?= docker
# kubectl is not pinned: it is yours, and acts on its current context.
KUBECTL ?= kubectl

.PHONY: docker-build
docker-build: ## Build the manager image IMG with CONTAINER_TOOL (docker).
	$(CONTAINER_TOOL) build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the image IMG with CONTAINER_TOOL.
	$(CONTAINER_TOOL) push $(IMG)

.PHONY: install
install: manifests $(KUSTOMIZE) ## Install the CRDs with your kubectl (current context).
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply -f -

.PHONY: uninstall
uninstall: manifests $(KUSTOMIZE) ## Delete the CRDs with your kubectl, and so every KeyPairDetachment and KeyPairAttachment.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found -f -

# The image is set in a copy of config/, so that deploying never leaves a changed
# config/manager/kustomization.yaml behind to be committed by mistake.
.PHONY: deploy
deploy: manifests $(KUSTOMIZE) ## Deploy config/default with the image IMG, with your kubectl.
	tmp="$$(mktemp -d)" && trap 'rm -rf "$$tmp"' EXIT && cp -R config "$$tmp/" && \
	(cd "$$tmp/config/manager" && $(KUSTOMIZE) edit set image controller=$(IMG)) && \
	$(KUSTOMIZE) build "$$tmp/config/default" | $(KUBECTL) apply -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) ## Delete what deploy created, with your kubectl: the CRD and every KeyPairDetachment too.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -
