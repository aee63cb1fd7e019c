package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// commandFlags are each command's flags, for the completion scripts; a
// name ending in "=" takes a value. TestCompletionFlagsMatchCommands keeps
// this list equal to what each command's flag set defines.
var commandFlags = map[string][]string{
	"up":         {"addr-file=", "check", "config=", "console=", "data-dir=", "in-memory", "listen=", "log-format=", "log-level=", "worker-logs"},
	"server":     {"access-key=", "access-keys-file=", "account-id=", "addr-file=", "admin-addr-file=", "admin-listen=", "admin-token=", "base-url=", "body-timeout=", "data-dir=", "in-memory", "insecure-no-auth", "listen=", "log-format=", "log-level=", "max-body-memory=", "max-connections=", "memory-limit=", "min-free=", "queues=", "region=", "repair", "tls-cert=", "tls-key="},
	"worker":     {"batch=", "concurrency=", "delete-delay=", "demo=", "endpoint-url=", "grace=", "heartbeat=", "http=", "http-content-type=", "http-ready=", "http-restart-delay=", "http-start=", "log-format=", "log-level=", "pollers=", "prefetch=", "profile=", "queue-url=", "region=", "retry-delay=", "retry-max-delay=", "status-addr=", "status-file=", "timeout=", "visibility=", "wait="},
	"autoscale":  {"check", "config=", "console-token=", "console=", "dry-run", "interval=", "log-format=", "log-level="},
	"messages":   {"admin=", "admin-token=", "after=", "endpoint-url=", "json", "limit=", "poll=", "rate=", "region=", "to="},
	"send":       {"attr=", "dedup=", "delay=", "endpoint-url=", "group=", "lines", "queue=", "region="},
	"load":       {"batch=", "burst=", "concurrency=", "duration=", "endpoint-url=", "queue=", "rate=", "region=", "retries=", "size="},
	"bench":      {"batch=", "client=", "endpoint-url=", "json", "log-retries", "messages=", "mode=", "queue-url=", "receivers=", "region=", "samples=", "senders=", "single-deletes", "size=", "timeout=", "wait="},
	"sim":        {"actions", "aws-alarm-delay=", "aws-cooldown=", "config=", "duration=", "max=", "min=", "mode=", "objective=", "predict", "processing=", "scenario=", "schedule=", "seed=", "startup=", "svg=", "trace=", "workers="},
	"version":    {},
	"completion": {},
}

// commandTable returns the command table. It is set in init: the table
// names runCompletion, so runCompletion cannot name the table directly.
var commandTable func() []command

func init() { commandTable = func() []command { return commands } }

// completionShells are the shells qscale writes a completion script for.
var completionShells = map[string]func(io.Writer, []command){
	"bash": writeBashCompletion,
	"zsh":  writeZshCompletion,
	"fish": writeFishCompletion,
}

func runCompletion(_ context.Context, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(os.Stdout, completionUsage)
		return nil
	}
	if len(args) != 1 {
		return usagef("want one shell: bash, zsh or fish")
	}
	write, ok := completionShells[args[0]]
	if !ok {
		return usagef("no completion for shell %q: want bash, zsh or fish", args[0])
	}
	write(os.Stdout, commandTable())
	return nil
}

const completionUsage = `usage: qscale completion bash|zsh|fish

Prints a script that completes qscale's commands and flags in the shell.

  bash:  source <(qscale completion bash)            (in ~/.bashrc)
         qscale completion bash > /etc/bash_completion.d/qscale
  zsh:   source <(qscale completion zsh)             (in ~/.zshrc, after compinit)
         qscale completion zsh > "${fpath[1]}/_qscale"
  fish:  qscale completion fish > ~/.config/fish/completions/qscale.fish
`

// flagsOf returns a command's flag names and which of them take a value.
func flagsOf(name string) (names []string, takesValue map[string]bool) {
	takesValue = map[string]bool{}
	for _, f := range commandFlags[name] {
		n, value := strings.CutSuffix(f, "=")
		names = append(names, n)
		takesValue[n] = value
	}
	sort.Strings(names)
	return names, takesValue
}

// fileFlag reports whether a flag's value is a path, completed with file
// names.
func fileFlag(name string) bool {
	return name == "config" || name == "svg" || name == "trace" || name == "data-dir" ||
		strings.HasSuffix(name, "-file")
}

func writeBashCompletion(w io.Writer, cmds []command) {
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	fmt.Fprintf(w, `# bash completion for qscale: source <(qscale completion bash)
_qscale() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "%[1]s help --help --version" -- "$cur"))
    return
  fi
  if [ "${COMP_WORDS[1]}" = help ] && [ "$COMP_CWORD" -eq 2 ]; then
    COMPREPLY=($(compgen -W "%[1]s" -- "$cur"))
    return
  fi
  local flags="" values=""
  case ${COMP_WORDS[1]} in
`, strings.Join(names, " "))
	for _, c := range cmds {
		flags, value := flagsOf(c.name)
		var all, vals []string
		for _, f := range flags {
			all = append(all, "--"+f)
			if value[f] {
				vals = append(vals, "--"+f, "-"+f)
			}
		}
		all = append(all, "--help")
		fmt.Fprintf(w, "    %s) flags=%q values=%q ;;\n", c.name, strings.Join(all, " "), " "+strings.Join(vals, " ")+" ")
	}
	fmt.Fprintf(w, `  esac
  if [ "${COMP_WORDS[1]}" = completion ] && [ "$COMP_CWORD" -eq 2 ]; then
    COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur"))
    return
  fi
  case $values in
    *" $prev "*) return ;; # a flag's value: the shell's default completion
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  fi
}
complete -o default -F _qscale qscale
`)
}

// zshQuote makes s safe inside a single-quoted zsh word and an _arguments
// or _describe description.
func zshQuote(s string) string {
	s = strings.ReplaceAll(s, "'", `'\''`)
	s = strings.ReplaceAll(s, ":", `\:`)
	s = strings.ReplaceAll(s, "[", `\[`)
	return strings.ReplaceAll(s, "]", `\]`)
}

func writeZshCompletion(w io.Writer, cmds []command) {
	fmt.Fprint(w, `#compdef qscale
# zsh completion for qscale: source <(qscale completion zsh), or save it as _qscale in $fpath
_qscale() {
  local -a cmds
  cmds=(
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "    '%s:%s'\n", c.name, zshQuote(c.summary))
	}
	fmt.Fprint(w, `  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'qscale command' cmds
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
`)
	for _, c := range cmds {
		flags, value := flagsOf(c.name)
		fmt.Fprintf(w, "    %s)\n      _arguments", c.name)
		for _, f := range flags {
			switch {
			case value[f] && fileFlag(f):
				fmt.Fprintf(w, " \\\n        '--%s=:%s:_files'", f, f)
			case value[f]:
				fmt.Fprintf(w, " \\\n        '--%s=:%s: '", f, f)
			default:
				fmt.Fprintf(w, " \\\n        '--%s'", f)
			}
		}
		if c.name == "completion" {
			fmt.Fprint(w, " \\\n        '1:shell:(bash zsh fish)'")
		} else {
			fmt.Fprint(w, " \\\n        '*:file:_files'")
		}
		fmt.Fprint(w, " ;;\n")
	}
	fmt.Fprint(w, `  esac
}
if [ "$funcstack[1]" = "_qscale" ]; then
  _qscale "$@"
else
  compdef _qscale qscale
fi
`)
}

// fishQuote makes s safe inside a single-quoted fish string.
func fishQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, "'", `\'`)
}

func writeFishCompletion(w io.Writer, cmds []command) {
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	list := strings.Join(names, " ")
	fmt.Fprintf(w, "# fish completion for qscale: qscale completion fish > ~/.config/fish/completions/qscale.fish\ncomplete -c qscale -f\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "complete -c qscale -n 'not __fish_seen_subcommand_from %s' -a %s -d '%s'\n", list, c.name, fishQuote(c.summary))
	}
	for _, c := range cmds {
		flags, value := flagsOf(c.name)
		for _, f := range flags {
			opt := ""
			switch {
			case value[f] && fileFlag(f):
				opt = " -r -F"
			case value[f]:
				opt = " -r"
			}
			fmt.Fprintf(w, "complete -c qscale -n '__fish_seen_subcommand_from %s' -l %s -o %s%s\n", c.name, f, f, opt)
		}
	}
	fmt.Fprintln(w, "complete -c qscale -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'")
}
