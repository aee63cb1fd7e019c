package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// runServerBackup is `qscale server backup`: it asks a running server's
// admin listener for a consistent copy of its store (POST /admin/backup).
func runServerBackup(ctx context.Context, args []string) error {
	fs := newFlags("server backup", `Asks a running server's admin listener for a consistent copy of its data
directory, written on the server's machine. See docs/operations.md.`, "qscale server backup --dir DIR [flags]")
	fs.group("Backup")
	admin := fs.String("admin", "http://"+defaultAdminListen, "URL of the server's admin listener")
	dir := fs.String("dir", "", "directory to write the copy into, on the server's machine; must not exist")
	token := fs.String("admin-token", "", "the server's admin token (default $"+adminTokenEnv+")")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *dir == "" {
		return usagef("--dir is required: where the server writes the copy")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return usagef("--dir: %v", err)
	}
	if *token == "" {
		*token = os.Getenv(adminTokenEnv)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimRight(*admin, "/")+"/admin/backup?dir="+url.QueryEscape(abs), nil)
	if err != nil {
		return usagef("--admin: %v", err)
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("backup: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	fmt.Println(strings.TrimSpace(string(msg)))
	return nil
}
