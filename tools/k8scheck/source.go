package k8scheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Where the facts about the binaries are read, relative to the root.
const (
	ImageScript       = "deployments/scripts/image.sh"
	Dockerfile        = "Dockerfile"
	ServerRoutes      = "adapters/httpapi"                          // the server's API, on http.port (/metrics too unless http.admin_addr is set)
	ServerAdminRoutes = "cmd/server"                                // the server's admin routes, on http.admin_addr
	WorkerRoutes      = "cmd/worker"                                // the worker's admin routes, on worker.admin_addr
	WorkerCloseSrc    = "adapters/kafkabroker/taskworker/runner.go" // how long leaving the group may take
)

// ImageName is the image `go tool task image` builds: image.sh's IMAGE
// default (IMAGE="${IMAGE:-rps-server}").
func ImageName(root string) (string, error) {
	return match(filepath.Join(root, ImageScript), `(?m)^IMAGE="\$\{IMAGE:-([^}]+)\}"$`)
}

// ImageBinaries are the programs the Dockerfile puts on the image's PATH
// (COPY --from=build /out/server /out/worker /usr/local/bin/).
func ImageBinaries(root string) ([]string, error) {
	line, err := match(filepath.Join(root, Dockerfile), `(?m)^COPY --from=build ((?:/out/\S+ )+)/usr/local/bin/$`)
	if err != nil {
		return nil, err
	}
	var bins []string
	for _, f := range strings.Fields(line) {
		bins = append(bins, strings.TrimPrefix(f, "/out/"))
	}
	return bins, nil
}

// ImageUser is the numeric user the image runs as (USER 65532:65532).
func ImageUser(root string) (int64, error) {
	uid, err := match(filepath.Join(root, Dockerfile), `(?m)^USER (\d+):\d+$`)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(uid, 10, 64)
}

// GroupLeaveBound is how long the worker may take to leave its consumer
// group after its drain (taskworker's consumerCloseTimeout).
func GroupLeaveBound(root string) (time.Duration, error) {
	s, err := match(filepath.Join(root, WorkerCloseSrc), `(?m)^const consumerCloseTimeout = (\d+) \* time\.Second$`)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	return time.Duration(n) * time.Second, err
}

// match returns the first group of re's first match in the file.
func match(path, re string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(re).FindSubmatch(raw)
	if m == nil {
		return "", fmt.Errorf("%s: no line matches %s", path, re)
	}
	return string(m[1]), nil
}

// routeMethods are the calls that register a route: echo's (e.GET("/x", h),
// e.Match(methods, "/x", h)) and net/http's (mux.Handle("GET /x", h)).
var routeMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "Any", "Match", "Add", "Handle", "HandleFunc"}

// Routes lists, sorted, the paths the non-test Go files in dir register as
// routes: every call of a routeMethods method with a string literal that is
// a path ("/readyz") or a net/http pattern ("GET /readyz"). It reads the
// route table as written, so a probe of a path the binary does not serve
// fails the check.
func Routes(root, dir string) ([]string, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !slices.Contains(routeMethods, sel.Sel.Name) {
				return true
			}
			for _, arg := range call.Args {
				if path, ok := routePath(arg); ok {
					seen[path] = true
				}
			}
			return true
		})
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("%s: no routes found", dir)
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// routePath is the path of a string literal "/x" or "GET /x".
func routePath(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return "", false
	}
	if _, p, ok := strings.Cut(s, " "); ok {
		s = p
	}
	return s, strings.HasPrefix(s, "/")
}
