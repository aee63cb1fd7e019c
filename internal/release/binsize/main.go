// Command binsize shows what takes the space in a qscale binary (or any Go
// ELF binary built without -s): the size of each section in the file, and
// the code and data of each module, summed from the symbol table.
//
//	go build -o /tmp/qscale ./cmd/qscale
//	go run ./internal/release/binsize /tmp/qscale
//
// Sections are listed by the room they take in the file (compressed DWARF
// counts compressed). Symbols in sections that take no room in the file (.bss, .noptrbss) are
// left out. The function tables (.gopclntab) grow with the code and are not
// attributed to modules.
package main

import (
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

func main() {
	top := 25
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: binsize BINARY")
		os.Exit(2)
	}
	if err := report(os.Stdout, os.Args[1], top); err != nil {
		fmt.Fprintln(os.Stderr, "binsize:", err)
		os.Exit(1)
	}
}

func report(w io.Writer, path string, top int) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read the Go build information: %w", err)
	}
	modules := []string{bi.Main.Path}
	for _, d := range bi.Deps {
		modules = append(modules, d.Path)
	}
	// Longest module path first, so that a nested module wins.
	sort.Slice(modules, func(i, j int) bool { return len(modules[i]) > len(modules[j]) })

	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "file\t%.1f MB\t\n", mb(uint64(st.Size())))
	var sections []*elf.Section
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && s.FileSize >= 1<<20 {
			sections = append(sections, s)
		}
	}
	sort.Slice(sections, func(i, j int) bool { return sections[i].FileSize > sections[j].FileSize })
	for _, s := range sections {
		fmt.Fprintf(tw, "%s\t%.1f MB\t\n", s.Name, mb(s.FileSize))
	}
	tw.Flush()

	syms, err := f.Symbols()
	if errors.Is(err, elf.ErrNoSymbols) {
		return errors.New("no symbol table: build without -ldflags=-s to see the modules")
	} else if err != nil {
		return err
	}
	bySize := map[string]uint64{}
	var total uint64
	for _, s := range syms {
		if int(s.Section) >= len(f.Sections) || f.Sections[s.Section].Type == elf.SHT_NOBITS {
			continue
		}
		m := moduleOf(s.Name, modules)
		bySize[m] += s.Size
		total += s.Size
	}
	names := make([]string, 0, len(bySize))
	for m := range bySize {
		names = append(names, m)
	}
	sort.Slice(names, func(i, j int) bool { return bySize[names[i]] > bySize[names[j]] })
	fmt.Fprintf(w, "\ncode and data by module (%.1f MB in symbols):\n", mb(total))
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for i, m := range names {
		if i == top {
			fmt.Fprintf(tw, "(%d more)\t\n", len(names)-top)
			break
		}
		fmt.Fprintf(tw, "%.1f MB\t%s\n", mb(bySize[m]), m)
	}
	return tw.Flush()
}

// moduleOf names the module a symbol belongs to: a module of the build,
// "std" for the standard library and the runtime's own tables, or "other".
func moduleOf(sym string, modules []string) string {
	name := strings.TrimPrefix(sym, "type:")
	name = strings.TrimPrefix(name, "go:itab.")
	name = strings.TrimLeft(name, "*")
	for _, m := range modules {
		if strings.HasPrefix(name, m+"/") || strings.HasPrefix(name, m+".") {
			return m
		}
	}
	first, _, _ := strings.Cut(name, "/")
	if strings.HasPrefix(name, "go:") || strings.HasPrefix(name, "runtime.") || !strings.Contains(first, ".") || strings.Contains(first, "(") {
		return "std"
	}
	return "other"
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }
