package k8scheck

import "strings"

// ImageRef is an image reference split as a registry sees it.
type ImageRef struct {
	Repository string // registry and path: registry.example.com/rps/rps-server
	Tag        string // empty when none is given (then it is latest)
	Digest     string // sha256:…, empty when none is given
}

// ParseImage splits an image reference: [registry[:port]/]path[:tag][@digest].
func ParseImage(ref string) ImageRef {
	var r ImageRef
	ref, r.Digest, _ = strings.Cut(ref, "@")
	// A tag's colon comes after the last slash; a registry's port before it.
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, r.Tag = ref[:i], ref[i+1:]
	}
	r.Repository = ref
	return r
}

// Name is the repository's last path element: rps-server.
func (r ImageRef) Name() string { return r.Repository[strings.LastIndex(r.Repository, "/")+1:] }

// Pinned reports whether the reference names one build: a tag other than
// latest, or a digest.
func (r ImageRef) Pinned() bool { return r.Digest != "" || (r.Tag != "" && r.Tag != "latest") }
