package envnames

import (
	"maps"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Kubernetes gives every pod, unless its spec sets enableServiceLinks:
// false, variables for each Service of its namespace (pkg/kubelet/envvars):
// the Service's name upper-cased with - as _, then _SERVICE_HOST,
// _SERVICE_PORT, _SERVICE_PORT_<PORT NAME>, _PORT and
// _PORT_<n>_<PROTOCOL>[_PROTO|_PORT|_ADDR]. A Service named rps-server
// gives RPS_SERVER_PORT=tcp://10.96.12.34:8000: an RPS_ name that is no
// setting. The patterns take a name's shape; serviceLink also wants the
// value Kubernetes sets, so a typo of a setting is still refused.
var (
	// svcName is a Service's name as the kubelet writes it: a DNS label
	// (letters, digits, -) starting with a letter, not ending in -.
	svcName      = `[A-Z](?:[A-Z0-9_]*[A-Z0-9])?`
	linkHost     = regexp.MustCompile(`^` + svcName + `_SERVICE_HOST$`)
	linkPort     = regexp.MustCompile(`^` + svcName + `_SERVICE_PORT(?:_[A-Z0-9](?:[A-Z0-9_]*[A-Z0-9])?)?$`)
	linkURL      = regexp.MustCompile(`^` + svcName + `_PORT$`)
	linkPortURL  = regexp.MustCompile(`^` + svcName + `_PORT_([0-9]+)_(TCP|UDP|SCTP)$`)
	linkPortPart = regexp.MustCompile(`^` + svcName + `_PORT_([0-9]+)_(TCP|UDP|SCTP)_(PROTO|PORT|ADDR)$`)
)

// IsServiceLink reports whether name=value is a service-link variable
// Kubernetes sets: the name has one of its shapes and the value is what
// Kubernetes puts there (an IP, a port, proto://ip:port). A name may fit two
// shapes (RPS_X_PORT_80_TCP_PORT ends in _PORT too): any fit will do.
func IsServiceLink(name, value string) bool {
	if linkHost.MatchString(name) && isIP(value) {
		return true
	}
	if linkPort.MatchString(name) && isPort(value) {
		return true
	}
	if linkURL.MatchString(name) {
		if _, _, ok := splitLinkURL(value); ok {
			return true
		}
	}
	if m := linkPortURL.FindStringSubmatch(name); m != nil {
		proto, port, ok := splitLinkURL(value)
		return ok && port == m[1] && proto == strings.ToLower(m[2])
	}
	if m := linkPortPart.FindStringSubmatch(name); m != nil {
		switch m[3] {
		case "PROTO":
			return value == strings.ToLower(m[2])
		case "PORT":
			return value == m[1] && isPort(value)
		case "ADDR":
			return isIP(value)
		}
	}
	return false
}

// ServiceLinks lists, sorted, the RPS_ variables among vars that FromVars
// skips as service links, for the log.
func ServiceLinks(vars map[string]string, known map[string]string) []string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if skipsAsServiceLink(name, vars[name], known) {
			names = append(names, name)
		}
	}
	return names
}

// skipsAsServiceLink reports whether FromVars skips name: an RPS_ variable
// that no key claims and that Kubernetes set.
func skipsAsServiceLink(name, value string, known map[string]string) bool {
	rest, ok := strings.CutPrefix(name, envPrefix)
	if !ok {
		return false
	}
	if _, claimed := known[strings.ToLower(strings.ReplaceAll(rest, "__", "."))]; claimed {
		return false
	}
	return IsServiceLink(name, value)
}

// splitLinkURL splits tcp://10.0.0.1:8000 (or udp://, sctp://, an IPv6
// address in brackets) into its protocol and port.
func splitLinkURL(v string) (proto, port string, ok bool) {
	proto, hostPort, ok := strings.Cut(v, "://")
	if !ok || (proto != "tcp" && proto != "udp" && proto != "sctp") {
		return "", "", false
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil || !isIP(host) || !isPort(port) {
		return "", "", false
	}
	return proto, port, true
}

func isIP(v string) bool {
	_, err := netip.ParseAddr(v)
	return err == nil
}

// isPort reports whether v is a port number as Kubernetes writes it.
func isPort(v string) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == v
}
