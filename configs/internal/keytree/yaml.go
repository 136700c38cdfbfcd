package keytree

import (
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// commentColumn is where the origin comments start, as in
// configs/example.yaml.
const commentColumn = 30

// defaultOrigin is the origin of a key no layer set.
const defaultOrigin = "default"

// WriteYAML writes a key tree as YAML, secrets masked as LogValue masks
// them, each value followed by a comment saying where it was set: origins
// by key (a librdkafka property's by "kafka.settings.<name>"), "default"
// for a key no layer set. Secrets aside, the output loads back as a config
// file (YAML is Unicode: a value that is no UTF-8 text does not).
func WriteYAML(w io.Writer, fs []Field, origins map[string]string) error {
	var b strings.Builder
	writeFields(&b, fs, origins, "")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFields(b *strings.Builder, fs []Field, origins map[string]string, indent string) {
	for _, f := range fs {
		switch {
		case f.Children != nil:
			fmt.Fprintf(b, "%s%s:\n", indent, f.Name)
			writeFields(b, f.Children, origins, indent+"  ")
		case f.Value.Kind() == reflect.Map:
			m, _ := f.Value.Interface().(map[string]string)
			writeSettings(b, f, m, origins, indent)
		default:
			writeLine(b, indent+f.Name+": "+yamlScalar(displayed(f)), Origin(origins, f.Key))
		}
	}
}

// writeSettings writes the librdkafka properties, flat ("linger.ms"), as
// the YAML loader reads them, credentials masked.
func writeSettings(b *strings.Builder, f Field, settings map[string]string, origins map[string]string, indent string) {
	if len(settings) == 0 {
		fmt.Fprintf(b, "%s%s: {}\n", indent, f.Name)
		return
	}
	fmt.Fprintf(b, "%s%s:\n", indent, f.Name)
	for _, prop := range slices.Sorted(maps.Keys(settings)) {
		v := settings[prop]
		if SecretSetting(prop) {
			v = masked
		}
		writeLine(b, indent+"  "+yamlScalar(prop)+": "+yamlScalar(v), Origin(origins, f.Key+"."+prop))
	}
}

// writeLine writes "key: value", then the origin as a comment from
// commentColumn on (or two spaces after a longer line).
func writeLine(b *strings.Builder, text, origin string) {
	pad := max(commentColumn-len([]rune(text)), 2)
	fmt.Fprintf(b, "%s%s# %s\n", text, strings.Repeat(" ", pad), origin)
}

// Origin says where key's value was set: its entry in origins, else
// "default".
func Origin(origins map[string]string, key string) string {
	if o, ok := origins[key]; ok {
		return o
	}
	return defaultOrigin
}

// displayed is a key's value as shown: durations as "10s", secrets masked.
func displayed(f Field) any {
	v := f.Value
	switch {
	case v.Type() == DurationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.String:
		return redact(f.Tag.Get("redact"), v.String())
	}
	return v.Interface()
}

// yamlScalar encodes v as a one-line YAML scalar, quoted where YAML needs
// it ("5" stays a string, "{rps}:gate" is no flow mapping).
func yamlScalar(v any) string {
	out, err := yaml.Marshal(v)
	s := strings.TrimSuffix(string(out), "\n")
	if err != nil || strings.Contains(s, "\n") {
		return strconv.Quote(fmt.Sprint(v)) // YAML's double quotes take Go's escapes
	}
	return s
}
