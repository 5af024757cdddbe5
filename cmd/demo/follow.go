package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// followChanges runs after the end state until ctx ends: it prints a line whenever a
// KeyPairDetachment in any namespace appears or changes its Ready state, so that what the user
// does with kubectl shows up here.
func followChanges(ctx context.Context, c client.Reader, out io.Writer, log logr.Logger, seen []*ecsv1alpha1.KeyPairDetachment) {
	last := map[string]string{}
	for _, obj := range seen {
		last[obj.Namespace+"/"+obj.Name] = followState(obj)
	}
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		var list ecsv1alpha1.KeyPairDetachmentList
		if err := c.List(ctx, &list); err != nil {
			if ctx.Err() == nil {
				log.Error(err, "Listing KeyPairDetachments failed; trying again")
			}
			continue
		}
		for i := range list.Items {
			obj := &list.Items[i]
			key := obj.Namespace + "/" + obj.Name
			if state := followState(obj); last[key] != state {
				last[key] = state
				printf(out, "[%s] %s: %s\n", time.Now().Format(time.TimeOnly), key, state)
			}
		}
	}
}

func followState(obj *ecsv1alpha1.KeyPairDetachment) string {
	r := rowOf(obj)
	return fmt.Sprintf("generation %d, %d instances, %d detached, %d rebooted, %d failed, Ready=%s",
		obj.Generation, r.summary.Total, r.summary.Detached, r.summary.Rebooted, r.summary.Failed, r.readyText())
}
