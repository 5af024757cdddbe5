package ecsemu

import (
	"encoding/json"
	"io"
	"net/http"
)

// serveAdmin answers the unsigned admin endpoints (design.md §5). They are meant for loopback
// only: anyone who can reach them can read and steer the emulator.
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_emulator/stats":
		if r.Method != http.MethodGet {
			adminError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		writeJSON(w, http.StatusOK, "", e.Stats())
	case "/_emulator/instances":
		if r.Method != http.MethodGet {
			adminError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		writeJSON(w, http.StatusOK, "", e.Instances())
	case "/_emulator/faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, "", e.Faults())
		case http.MethodPost:
			e.postFaults(w, r)
		default:
			adminError(w, http.StatusMethodNotAllowed, "use GET or POST")
		}
	default:
		adminError(w, http.StatusNotFound, "unknown admin endpoint "+r.URL.Path)
	}
}

func (e *Emulator) postFaults(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		adminError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	var f Faults
	if len(body) > 0 {
		if err := json.Unmarshal(body, &f); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if err := e.SetFaults(f); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, "", e.Faults())
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, "", map[string]string{"error": msg})
}
