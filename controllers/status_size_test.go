package controllers

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// Status-size bounds the README states: at most 350 bytes per instance when everything
// succeeds, and never more than 1 MiB for an object (etcd refuses objects over 1.5 MiB, and
// every status write sends the whole list).
const (
	maxBytesPerSuccessfulInstance = 350
	maxObjectBytes                = 1 << 20
)

// longestECSMessage stands for the longest message ECS can return: nothing documents a bound,
// so the test sends far more than any real one.
var longestECSMessage = strings.Repeat("The specified instance is in a state that does not support this operation. ", 800)

// ecsRequestID has the shape and length of ECS's RequestIds.
func ecsRequestID(n int) string { return fmt.Sprintf("5A3D2B1C-0F9E-4D8C-B7A6-%012d", n) }

// sizeIDs returns n instance IDs of length idLen ("i-" and base-36 digits).
func sizeIDs(n, idLen int) []string {
	out := make([]string, n)
	for k := range out {
		id := fmt.Sprintf("i-%s", strings.Repeat("z", idLen))
		suffix := fmt.Sprintf("%d", k)
		out[k] = id[:idLen-len(suffix)] + suffix
	}
	return out
}

// rollOut runs passes until the object is Ready or Stalled, and returns it as stored.
func rollOut(t *testing.T, r *Reconciler, clock *unitClock, obj *ecsv1alpha1.KeyPairDetachment) *ecsv1alpha1.KeyPairDetachment {
	t.Helper()
	for pass := 0; pass < 200; pass++ {
		got, _, _ := unitPass(t, r, obj)
		switch objectCondition(got, ecsv1alpha1.ConditionReady) {
		case "True/Ready", "False/PartiallyFailed", "False/RolloutHalted":
			return got
		}
		clock.t = clock.t.Add(5 * time.Second)
	}
	t.Fatalf("not settled after 200 passes: %+v", latest(t, r.Client, obj).Status.Summary)
	return nil
}

// sizes returns the object's serialized size and its status.instances' size per instance.
func sizes(obj *ecsv1alpha1.KeyPairDetachment) (object, perInstance int, err error) {
	whole, err := json.Marshal(obj)
	if err != nil {
		return 0, 0, err
	}
	list, err := json.Marshal(obj.Status.Instances)
	if err != nil {
		return 0, 0, err
	}
	return len(whole), len(list) / len(obj.Status.Instances), nil
}

// TestStatusSize rolls out 1,000 instances through the reconciler, with every instance
// rebooted, and with ECS refusing each one with the longest message it could send, and holds
// the stored object to the bounds above.
func TestStatusSize(t *testing.T) {
	cases := []struct {
		name string
		// idLen: 22 is the length of ECS's instance IDs today; 64 is the most the CRD admits.
		idLen          int
		detach, reboot func(w *world, clock *unitClock, ids []string) ecs.BatchResult
		wantReady      string // Status/Reason
		// perInstanceBound is checked only where everything succeeds.
		perInstanceBound int
	}{
		{name: "every instance detached and rebooted, ECS-length IDs", idLen: 22,
			detach: succeedDetach, reboot: succeedReboot, wantReady: "True/Ready",
			perInstanceBound: maxBytesPerSuccessfulInstance},
		{name: "every instance detached and rebooted, the longest IDs admitted", idLen: 64,
			detach: succeedDetach, reboot: succeedReboot, wantReady: "True/Ready"},
		{name: "every detach refused with the longest message", idLen: 64,
			detach: func(_ *world, _ *unitClock, ids []string) ecs.BatchResult {
				return refuseEach(ids, "InvalidParameter.Unexpected")
			}, wantReady: "False/PartiallyFailed"},
		{name: "every reboot refused with the longest message", idLen: 64,
			detach: succeedDetach, reboot: func(_ *world, _ *unitClock, ids []string) ecs.BatchResult {
				return refuseEach(ids, "OperationDenied.Unexpected")
			}, wantReady: "False/PartiallyFailed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids := sizeIDs(1000, c.idLen)
			w := newWorld(ids)
			clock := &unitClock{t: bootedAt.Add(time.Hour)}
			cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe,
				DetachKeyPairFn: func(_ string, ids []string) (ecs.BatchResult, error) { return c.detach(w, clock, ids), nil }}
			if c.reboot != nil {
				cloud.RebootInstancesFn = func(ids []string, _ bool) (ecs.BatchResult, error) { return c.reboot(w, clock, ids), nil }
			}
			obj := unitObject("big", ids, true)
			obj.Spec.Reboot.MaxConcurrent = 100
			obj.Spec.Reboot.MaxFailures = 1000
			r := unitReconciler(t, clock.now, cloud, obj)

			got := rollOut(t, r, clock, obj)

			if ready := objectCondition(got, ecsv1alpha1.ConditionReady); ready != c.wantReady {
				t.Fatalf("Ready %s, want %s (summary %+v)", ready, c.wantReady, got.Status.Summary)
			}
			object, perInstance, err := sizes(got)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("1,000 instances, %d-byte IDs: object %d bytes (%.0f%% of 1 MiB), %d bytes per status entry",
				c.idLen, object, 100*float64(object)/maxObjectBytes, perInstance)
			if object > maxObjectBytes {
				t.Errorf("the object is %d bytes, more than 1 MiB", object)
			}
			if c.perInstanceBound > 0 && perInstance > c.perInstanceBound {
				t.Errorf("%d bytes per instance, more than %d", perInstance, c.perInstanceBound)
			}
		})
	}
}

func succeedDetach(w *world, _ *unitClock, ids []string) ecs.BatchResult {
	res := w.detachAll(ids)
	res.RequestID = ecsRequestID(len(ids))
	return res
}

// succeedReboot reboots at once: the next observation shows a later StartTime.
func succeedReboot(w *world, clock *unitClock, ids []string) ecs.BatchResult {
	for _, id := range ids {
		w.start[id] = clock.t.Add(time.Minute).Truncate(time.Minute)
	}
	res := allSucceed(ids)
	res.RequestID = ecsRequestID(len(ids))
	return res
}

func refuseEach(ids []string, code string) ecs.BatchResult {
	res := ecs.BatchResult{RequestID: ecsRequestID(len(ids))}
	for _, id := range ids {
		res.Results = append(res.Results, ecs.InstanceResult{InstanceID: id, Code: code, Message: longestECSMessage})
	}
	return res
}
