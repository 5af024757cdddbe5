package ecsemu

import (
	"crypto/md5"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Instance statuses, in ECS spelling.
const (
	StatusRunning  = "Running"
	StatusStopped  = "Stopped"
	StatusStopping = "Stopping"
	StatusStarting = "Starting"
)

// Operating system types.
const (
	OSLinux   = "linux"
	OSWindows = "windows"
)

// Instance is a snapshot of one emulated instance, as GET /_emulator/instances shows it.
type Instance struct {
	InstanceID  string    `json:"instanceId"`
	RegionID    string    `json:"regionId"`
	OSType      string    `json:"osType"`
	Status      string    `json:"status"`
	KeyPairName string    `json:"keyPairName"`
	StartTime   time.Time `json:"startTime"`
	// PendingKeyChange is true between a key change and the instance's next start: the change is
	// recorded but not yet in effect inside the instance.
	PendingKeyChange bool   `json:"pendingKeyChange"`
	LockReason       string `json:"lockReason,omitempty"`
	// CloudAssistant is whether the Cloud Assistant agent is installed and running (the fleet's
	// cloudAssistant); DescribeCloudAssistantStatus also reports it down while Stopped.
	CloudAssistant bool `json:"cloudAssistant"`
}

// instance is the mutable record behind an Instance. Its status field holds the settled state
// (Running or Stopped); a reboot in progress is described by reboot and resolved lazily from the
// clock, so the emulator needs no timers and a fake clock moves instances exactly.
type instance struct {
	id         string
	region     string
	osType     string
	status     string
	keyPair    string
	startTime  time.Time
	pending    bool
	lockReason string
	hang       bool
	reboot     *reboot
	// assistant: the Cloud Assistant agent is installed and started with the instance.
	assistant bool
}

// reboot captures the phase durations in force when the reboot was accepted, so that changing
// the lifecycle later does not rewrite reboots already under way.
type reboot struct {
	start    time.Time
	stopping time.Duration
	starting time.Duration
}

// world holds the fleet's state; every access goes through Emulator.mu.
type world struct {
	instances map[string]*instance
	order     []string                      // instance IDs, sorted, for stable paging
	keyPairs  map[string]map[string]keyPair // region → name → key pair
	regions   map[string]bool
	// rebooting maps instance ID → end of its reboot (zero for a hung reboot); it exists to
	// measure the most reboots in flight at once without scanning the fleet.
	rebooting map[string]time.Time
}

type keyPair struct {
	name        string
	fingerprint string
	created     time.Time
}

// knownRegions are the public ECS regions; a RegionId outside them and the fleet is
// InvalidRegionId.NotFound, as on the real service.
var knownRegions = []string{
	"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-qingdao", "cn-zhangjiakou",
	"cn-huhehaote", "cn-wulanchabu", "cn-chengdu", "cn-guangzhou", "cn-heyuan", "cn-nanjing",
	"cn-fuzhou", "cn-hongkong", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5",
	"ap-southeast-6", "ap-southeast-7", "ap-northeast-1", "ap-northeast-2", "ap-south-1",
	"us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "me-east-1", "me-central-1",
	"na-south-1",
}

// bootedBefore is how long before the emulator starts its fleet was booted. Real fleets have
// run for a while; an instance "started" in the very minute of a reboot request would make
// StartTime (minute precision) useless as evidence of that reboot.
const bootedBefore = 24 * time.Hour

func newWorld(f Fleet, now time.Time) *world {
	w := &world{
		instances: make(map[string]*instance, len(f.Instances)),
		keyPairs:  make(map[string]map[string]keyPair),
		regions:   make(map[string]bool, len(knownRegions)),
		rebooting: make(map[string]time.Time),
	}
	for _, r := range knownRegions {
		w.regions[r] = true
	}
	for _, k := range f.KeyPairs {
		w.addKeyPair(k.RegionID, k.KeyPairName, now)
	}
	for _, s := range f.Instances {
		w.addInstance(&instance{
			id: s.InstanceID, region: s.RegionID,
			osType: orDefault(s.OSType, OSLinux), status: orDefault(s.Status, StatusRunning),
			keyPair: s.KeyPairName, startTime: now.Add(-bootedBefore), lockReason: s.LockReason, hang: s.RebootHang,
			assistant: assistantRunning(s.CloudAssistant),
		}, now)
	}
	for _, g := range f.Generate {
		width := len(strconv.Itoa(g.Count))
		for n := 1; n <= g.Count; n++ {
			w.addInstance(&instance{
				id: generatedID(g.Prefix, width, n), region: g.RegionID,
				osType: orDefault(g.OSType, OSLinux), status: orDefault(g.Status, StatusRunning),
				keyPair: g.KeyPairName, startTime: now.Add(-bootedBefore),
				assistant: assistantRunning(g.CloudAssistant),
			}, now)
		}
	}
	sort.Strings(w.order)
	return w
}

func (w *world) addInstance(in *instance, now time.Time) {
	w.instances[in.id] = in
	w.order = append(w.order, in.id)
	w.regions[in.region] = true
	if in.keyPair != "" {
		w.addKeyPair(in.region, in.keyPair, now)
	}
}

func (w *world) addKeyPair(region, name string, now time.Time) {
	w.regions[region] = true
	byName := w.keyPairs[region]
	if byName == nil {
		byName = make(map[string]keyPair)
		w.keyPairs[region] = byName
	}
	if _, ok := byName[name]; ok {
		return
	}
	byName[name] = keyPair{name: name, fingerprint: fingerprint(region + "/" + name), created: now}
}

func (w *world) hasKeyPair(region, name string) bool {
	_, ok := w.keyPairs[region][name]
	return ok
}

// lookup finds an instance; an instance in another region than the call's does not exist for
// that call, as on ECS where each region is its own endpoint.
func (w *world) lookup(id, region string) *instance {
	in := w.instances[id]
	if in == nil || (region != "" && in.region != region) {
		return nil
	}
	return in
}

func (w *world) get(id string) (*instance, error) {
	in := w.instances[id]
	if in == nil {
		return nil, fmt.Errorf("instance %q is not in the fleet", id)
	}
	return in, nil
}

func (in *instance) snapshot(now time.Time) Instance {
	in.settle(now)
	return Instance{
		InstanceID: in.id, RegionID: in.region, OSType: in.osType, Status: in.statusAt(now),
		KeyPairName: in.keyPair, StartTime: in.startTime, PendingKeyChange: in.pending,
		LockReason: in.lockReason, CloudAssistant: in.assistant,
	}
}

// fingerprint derives a stable, realistic-looking MD5 fingerprint for a key pair.
func fingerprint(seed string) string {
	sum := md5.Sum([]byte(seed))
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02x", c)
	}
	return b.String()
}
