package ecs

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/keypairs-dev/ecs-keypair-operator"

// TestDependencyDirection enforces the layout of design.md §4: only internal/ecs imports the
// Alibaba SDK, the API imports nothing of ours, and the emulator imports nothing of the
// operator (it stands in for the cloud). Test files may use the SDK as a reference client.
func TestDependencyDirection(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "bin" || rel == filepath.Join("hack", "tools") || (strings.HasPrefix(d.Name(), ".") && rel != ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		for _, spec := range file.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			sdk := strings.HasPrefix(imp, "github.com/alibabacloud-go/") || strings.HasPrefix(imp, "github.com/aliyun/")
			ours := strings.HasPrefix(imp, module+"/")
			switch {
			case sdk && dir != "internal/ecs":
				t.Errorf("%s imports the Alibaba SDK (%s); only internal/ecs may", rel, imp)
			case ours && strings.HasPrefix(dir, "api/"):
				t.Errorf("%s imports %s; the API must import nothing of ours", rel, imp)
			case ours && strings.HasPrefix(dir, "internal/ecsemu"):
				t.Errorf("%s imports %s; the emulator must import nothing of the operator", rel, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
