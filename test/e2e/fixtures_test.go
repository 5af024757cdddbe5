//go:build e2e

package e2e

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// The rollout the manager is killed in: 40 Running instances carrying the key, 2 Stopped ones
// carrying it (never to be rebooted) and 1 without a key (nothing to do), maxConcurrent 5.
const (
	rolloutNamespace     = "e2e-rollout"
	rolloutName          = "reboot-rollout"
	rolloutRegion        = "cn-hangzhou"
	rolloutKey           = "E2eRolloutKey"
	rolloutRunning       = 40
	rolloutPrefix        = "i-e2e" // generated: i-e2e01 … i-e2e40
	rolloutMaxConcurrent = 5
	rolloutSecret        = "ecs-credentials"
)

var (
	rolloutStopped = []string{"i-e2estopped1", "i-e2estopped2"}
	rolloutNoKey   = "i-e2enokey"
)

func rolloutRunningIDs() []string {
	ids := make([]string, rolloutRunning)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%02d", rolloutPrefix, i+1)
	}
	return ids
}

// The fleet file, as design.md §5 specifies it (written here from the contract, not from the
// emulator's Go types: the binary is what is under test).
type fleetFile struct {
	Accounts  []fleetAccount    `json:"accounts"`
	KeyPairs  []fleetKeyPair    `json:"keyPairs"`
	Instances []fleetInstance   `json:"instances"`
	Generate  []fleetGenerate   `json:"generate,omitempty"`
	Throttle  map[string]any    `json:"throttle,omitempty"`
	Lifecycle map[string]string `json:"lifecycle,omitempty"`
	Latency   string            `json:"latency,omitempty"`
}

type fleetAccount struct {
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
	SecurityToken   string `json:"securityToken,omitempty"`
}

type fleetKeyPair struct {
	RegionID    string `json:"regionId"`
	KeyPairName string `json:"keyPairName"`
}

type fleetInstance struct {
	InstanceID  string `json:"instanceId"`
	RegionID    string `json:"regionId"`
	OSType      string `json:"osType,omitempty"`
	Status      string `json:"status,omitempty"`
	KeyPairName string `json:"keyPairName,omitempty"`
	LockReason  string `json:"lockReason,omitempty"`
	RebootHang  bool   `json:"rebootHang,omitempty"`
}

type fleetGenerate struct {
	Count       int    `json:"count"`
	Prefix      string `json:"prefix"`
	RegionID    string `json:"regionId"`
	OSType      string `json:"osType,omitempty"`
	Status      string `json:"status,omitempty"`
	KeyPairName string `json:"keyPairName,omitempty"`
}

// fleetPlan is what the emulator must hold for the samples and the rollout, and the samples
// as the test applies them.
type fleetPlan struct {
	// sampleNamespace is where the samples go, as `kubectl apply -n NS -k config/samples` puts them.
	sampleNamespace string
	// sampleFiles are the files applied, in the kustomization's order.
	sampleFiles []string
	// sampleObjects are applied first (Secrets, Namespaces), then sampleKPDs all at once.
	sampleObjects []*unstructured.Unstructured
	sampleKPDs    []*unstructured.Unstructured
	// secretsToCreate are credentialsSecretRef targets no sample ships.
	secretsToCreate []string
	file            fleetFile
}

// planFleet starts from the samples' own fleet (config/samples/fleet.yaml, which matches the
// samples: i-demo004 is Stopped, i-demo006 carries another key) and adds: the accounts of the
// manager and of the Secrets the samples ship, a Running Linux instance carrying the sample's
// key for any sample instance the fleet lacks, the rollout's instances and those of the stories
// with several installations (installations_test.go). Reboots are made
// faster (1s stopping, 2s starting) so that a rollout wave takes about one poll interval of the
// controller (5s).
func planFleet(samplesDir string) (*fleetPlan, error) {
	p := &fleetPlan{sampleNamespace: "e2e-samples"}
	data, err := os.ReadFile(filepath.Join(samplesDir, "fleet.yaml"))
	switch {
	case err == nil:
		// Strict: a fleet field this test does not know would otherwise be dropped silently.
		if err := yaml.UnmarshalStrict(data, &p.file); err != nil {
			return nil, fmt.Errorf("config/samples/fleet.yaml: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	p.file.Accounts = append(p.file.Accounts,
		fleetAccount{AccessKeyID: managerAccessKeyID, AccessKeySecret: managerAccessKeySecret},
		fleetAccount{AccessKeyID: secretAccessKeyID, AccessKeySecret: secretAccessKeySecret})
	p.file.Lifecycle = map[string]string{"stopping": "1s", "starting": "2s"}
	keyPairs := map[fleetKeyPair]bool{{RegionID: rolloutRegion, KeyPairName: rolloutKey}: true}
	for _, kp := range p.file.KeyPairs {
		keyPairs[kp] = true
	}
	instances := map[string]bool{}
	for _, i := range p.file.Instances {
		instances[i.InstanceID] = true
	}

	files, namespace, err := sampleFiles(samplesDir)
	if err != nil {
		return nil, err
	}
	if namespace != "" {
		p.sampleNamespace = namespace
	}
	if err := p.readSamples(files); err != nil {
		return nil, err
	}
	for _, u := range p.sampleKPDs {
		kpd, err := typed(u)
		if err != nil {
			return nil, err
		}
		keyPairs[fleetKeyPair{RegionID: kpd.Spec.RegionID, KeyPairName: kpd.Spec.KeyPairName}] = true
		for _, id := range kpd.Spec.InstanceIDs {
			if !instances[id] {
				instances[id] = true
				p.file.Instances = append(p.file.Instances, fleetInstance{InstanceID: id, RegionID: kpd.Spec.RegionID,
					OSType: "linux", Status: "Running", KeyPairName: kpd.Spec.KeyPairName})
			}
		}
	}

	p.file.Generate = append(p.file.Generate, fleetGenerate{Count: rolloutRunning, Prefix: rolloutPrefix,
		RegionID: rolloutRegion, OSType: "linux", Status: "Running", KeyPairName: rolloutKey})
	for _, id := range rolloutStopped {
		p.file.Instances = append(p.file.Instances, fleetInstance{InstanceID: id, RegionID: rolloutRegion,
			OSType: "linux", Status: "Stopped", KeyPairName: rolloutKey})
	}
	p.file.Instances = append(p.file.Instances, fleetInstance{InstanceID: rolloutNoKey, RegionID: rolloutRegion,
		OSType: "linux", Status: "Running"})
	for _, id := range installationsInstanceIDs() {
		p.file.Instances = append(p.file.Instances, fleetInstance{InstanceID: id, RegionID: rolloutRegion,
			OSType: "linux", Status: "Running", KeyPairName: installationsKey})
	}
	keyPairs[fleetKeyPair{RegionID: rolloutRegion, KeyPairName: installationsKey}] = true
	p.file.KeyPairs = p.file.KeyPairs[:0]
	for kp := range keyPairs {
		p.file.KeyPairs = append(p.file.KeyPairs, kp)
	}
	sort.Slice(p.file.KeyPairs, func(i, j int) bool { return p.file.KeyPairs[i].KeyPairName < p.file.KeyPairs[j].KeyPairName })
	return p, nil
}

// readSamples sorts the objects of the sample files: Secrets (whose credentials become fleet
// accounts) and Namespaces first, then the KeyPairDetachments; credentialsSecretRef targets no
// sample ships are created by the test. Namespaced objects without a namespace get the samples'.
func (p *fleetPlan) readSamples(files []string) error {
	shipped := map[string]bool{}
	for _, path := range files {
		docs, err := readObjects(path)
		if err != nil {
			return err
		}
		p.sampleFiles = append(p.sampleFiles, filepath.Base(path))
		for _, u := range docs {
			switch u.GetKind() {
			case "Namespace":
				p.sampleObjects = append(p.sampleObjects, u)
				continue
			case "Secret":
				acct, err := secretAccount(u)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				p.file.Accounts = append(p.file.Accounts, acct)
				p.sampleObjects = append(p.sampleObjects, u)
				shipped[u.GetName()] = true
			case "KeyPairDetachment":
				p.sampleKPDs = append(p.sampleKPDs, u)
			default:
				return fmt.Errorf("%s: kind %s in the samples: teach test/e2e how to apply it", path, u.GetKind())
			}
			if u.GetNamespace() == "" {
				u.SetNamespace(p.sampleNamespace)
			}
		}
	}
	if len(p.sampleKPDs) == 0 {
		return fmt.Errorf("no KeyPairDetachment in %v", files)
	}
	for _, u := range p.sampleKPDs {
		name, _, _ := unstructured.NestedString(u.Object, "spec", "credentialsSecretRef", "name")
		if name != "" && !shipped[name] {
			shipped[name] = true
			p.secretsToCreate = append(p.secretsToCreate, name)
		}
	}
	return nil
}

// sampleFiles lists the sample files: the kustomization's resources when there is one (with
// its namespace, if it sets one), otherwise every YAML file of the folder.
func sampleFiles(dir string) (files []string, namespace string, err error) {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if errors.Is(err, fs.ErrNotExist) {
		files, err = filepath.Glob(filepath.Join(dir, "*.yaml"))
		sort.Strings(files)
		return files, "", err
	}
	if err != nil {
		return nil, "", err
	}
	var k struct {
		Namespace string   `json:"namespace"`
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, "", fmt.Errorf("config/samples/kustomization.yaml: %w", err)
	}
	for _, r := range k.Resources {
		path := filepath.Join(dir, r)
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			return nil, "", fmt.Errorf("config/samples/kustomization.yaml: resource %s is not a file", r)
		}
		files = append(files, path)
	}
	return files, k.Namespace, nil
}

func (p *fleetPlan) write(path string) error {
	data, err := yaml.Marshal(p.file)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// secretAccount reads the credentials a sample Secret carries (stringData or data).
func secretAccount(u *unstructured.Unstructured) (fleetAccount, error) {
	get := func(key string) string {
		if v, ok, _ := unstructured.NestedString(u.Object, "stringData", key); ok {
			return v
		}
		if v, ok, _ := unstructured.NestedString(u.Object, "data", key); ok {
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				return string(b)
			}
		}
		return ""
	}
	a := fleetAccount{AccessKeyID: get("accessKeyId"), AccessKeySecret: get("accessKeySecret"), SecurityToken: get("securityToken")}
	if a.AccessKeyID == "" || a.AccessKeySecret == "" {
		return a, fmt.Errorf("secret %s has no accessKeyId/accessKeySecret", u.GetName())
	}
	return a, nil
}

// readObjects decodes every YAML document of a file that has a kind (a fleet file has none).
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if m == nil {
			continue
		}
		if _, ok := m["kind"]; !ok {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

func typed(u *unstructured.Unstructured) (*ecsv1alpha1.KeyPairDetachment, error) {
	kpd := &ecsv1alpha1.KeyPairDetachment{}
	return kpd, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, kpd)
}
