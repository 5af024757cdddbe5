package ecsemu

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// requestIDs makes unique, UUID-shaped request IDs like ECS's, cheaply: a random per-emulator
// prefix and a counter, so no entropy is drawn per call.
type requestIDs struct {
	prefix uint64
	seq    atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return &requestIDs{prefix: binary.BigEndian.Uint64(b[:])}
}

func (g *requestIDs) next() string {
	n := g.seq.Add(1)
	p := g.prefix
	return fmt.Sprintf("%08X-%04X-%04X-%04X-%012X", uint32(p>>32), uint16(p>>16), uint16(p), uint16(n>>48), n&0xFFFFFFFFFFFF)
}
