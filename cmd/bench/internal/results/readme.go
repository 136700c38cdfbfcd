package results

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The marker lines around the section in a README. Each must be a line of
// its own; the text between them is replaced, the markers are kept.
const (
	BeginMarker = "<!-- bench:results:begin -->"
	EndMarker   = "<!-- bench:results:end -->"
)

// Splice returns doc with the text between the marker lines replaced by
// section (set off by a blank line on each side, so Markdown renders it as
// blocks of its own). Everything outside the markers is kept byte for byte.
// Without markers, they are appended with the section at the end. Splicing
// the same section again gives the same document.
func Splice(doc []byte, section string) ([]byte, error) {
	block := "\n" + section
	if len(section) > 0 && section[len(section)-1] != '\n' {
		block += "\n"
	}
	block += "\n"

	begins, ends := markerLines(doc, BeginMarker), markerLines(doc, EndMarker)
	switch {
	case len(begins) == 0 && len(ends) == 0:
		out := bytes.Clone(doc)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		if len(out) > 0 {
			out = append(out, '\n')
		}
		out = append(out, BeginMarker+"\n"+block+EndMarker+"\n"...)
		return out, nil
	case len(begins) != 1 || len(ends) != 1:
		return nil, fmt.Errorf("want one line %s and one line %s, found %d and %d", BeginMarker, EndMarker, len(begins), len(ends))
	case ends[0].start < begins[0].end:
		return nil, fmt.Errorf("%s comes before %s", EndMarker, BeginMarker)
	}
	from, to := begins[0].end, ends[0].start
	out := make([]byte, 0, len(doc)-(to-from)+len(block))
	out = append(out, doc[:from]...)
	out = append(out, block...)
	out = append(out, doc[to:]...)
	return out, nil
}

// span is one line of a document: start is its first byte, end the byte
// after its newline (or the document's end).
type span struct{ start, end int }

// markerLines finds the lines that are exactly marker (surrounding spaces
// and a CR aside).
func markerLines(doc []byte, marker string) []span {
	var found []span
	for start := 0; start < len(doc); {
		end := len(doc)
		if i := bytes.IndexByte(doc[start:], '\n'); i >= 0 {
			end = start + i + 1
		}
		if string(bytes.TrimSpace(doc[start:end])) == marker {
			found = append(found, span{start, end})
		}
		start = end
	}
	return found
}

// SpliceFile splices section into the file at path (see Splice) and
// replaces the file atomically: the new text goes to a temporary file in the
// same folder, which is then renamed over it. The file must exist.
func SpliceFile(path, section string) error {
	file, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	doc, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out, err := Splice(doc, section)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(out, doc) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // a no-op once renamed
	_, err = tmp.Write(out)
	err = errors.Join(err, tmp.Chmod(info.Mode().Perm()), tmp.Sync())
	if err = errors.Join(err, tmp.Close()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Rename(tmp.Name(), file)
}
