// Command ecs-emulator serves an emulated Alibaba Cloud ECS endpoint for tests, demos and CI.
//
//	ecs-emulator --listen 127.0.0.1:18443 --fleet fleet.yaml
//
// Once the port is bound it prints exactly "listening on http://HOST:PORT" to stdout, so callers
// can wait for that line and read the port (--listen 127.0.0.1:0 picks a free one). SIGTERM or
// SIGINT stops it cleanly with exit status 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ecs-emulator:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ecs-emulator", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:18443", "address to listen on (port 0 picks a free port)")
	fleetPath := fs.String("fleet", "", "fleet file (YAML) describing accounts, key pairs and instances")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *fleetPath == "" {
		return fmt.Errorf("--fleet is required")
	}
	fleet, err := ecsemu.LoadFleet(*fleetPath)
	if err != nil {
		return err
	}
	emu, err := ecsemu.New(fleet)
	if err != nil {
		return err
	}
	// Listen for signals before announcing readiness, so a signal sent right after the ready
	// line is never lost.
	ctx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stopSignals()
	url, stop, err := emu.Start(*listen)
	if err != nil {
		return err
	}
	// Callers wait for this line; an emulator that cannot announce itself is of no use to them.
	if _, err := fmt.Fprintf(stdout, "listening on %s\n", url); err != nil {
		return errors.Join(fmt.Errorf("announce readiness: %w", err), stop())
	}
	<-ctx.Done()
	return stop()
}
