// Command server runs artisan-notify and its admin commands.
//
//	server [serve]                run the server (default)
//	server migrate [up|status]    apply or list the database migrations
//	server grant-pdg <email>      make an existing contact a PDG
//	server revoke-pdg <email>     remove a contact's PDG right
//	server list-pdg               list the PDGs
//	server revoke-tokens <email>  invalidate every token of a contact
//	server version                print the build's version
//
// `server help` prints the same list from the command table below.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"syscall"
	"text/tabwriter"

	"github.com/artisan-notify/artisan-notify/impl/app"
	"github.com/artisan-notify/artisan-notify/impl/config"
	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/localpg"
	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/impl/tracing"
	"github.com/artisan-notify/artisan-notify/migrations"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitNotFound = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type command struct {
	name  string
	usage string
	help  string
	run   func(ctx context.Context, env env, args []string) error
}

type env struct {
	cfg    config.Config
	log    *slog.Logger
	stdout io.Writer
}

var errNotFound = errors.New("not found")

// commands is the one table of commands: dispatch and usage (in this order) both read it.
func commands() []command {
	return []command{
		{"serve", "serve", "Run the server (REST and Socket.IO on PORT).", serve},
		{"migrate", "migrate [up|status]", "Apply the pending database migrations (up, the default) or list them (status).", migrate},
		{"grant-pdg", "grant-pdg <email>", "Make the existing contact with this email a PDG.", grantPDG},
		{"revoke-pdg", "revoke-pdg <email>", "Remove the PDG right of the contact with this email; its sockets lose PDG events at once.", revokePDG},
		{"list-pdg", "list-pdg", "List the PDGs.", listPDG},
		{"revoke-tokens", "revoke-tokens <email>", "Invalidate every token of this contact (log out everywhere); its sockets are disconnected.", revokeTokens},
		{"version", "version", "Print the version of this build.", version},
	}
}

// lookup returns the command of cmds named name.
func lookup(cmds []command, name string) (command, bool) {
	i := slices.IndexFunc(cmds, func(c command) bool { return c.name == name })
	if i < 0 {
		return command{}, false
	}
	return cmds[i], true
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		// server --help, server help [command]
		if len(args) == 2 {
			if c, ok := lookup(cmds, args[1]); ok {
				fmt.Fprintf(stdout, "Usage: server %s\n\n%s\n", c.usage, c.help)
				return exitOK
			}
		}
		printUsage(stdout, cmds)
		return exitOK
	}
	name := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	cmd, ok := lookup(cmds, name)
	if !ok || (len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help")) {
		if !ok {
			fmt.Fprintf(stderr, "unknown command %q\n\n", name)
		}
		if ok {
			fmt.Fprintf(stdout, "Usage: server %s\n\n%s\n", cmd.usage, cmd.help)
			return exitOK
		}
		printUsage(stderr, cmds)
		return exitUsage
	}
	if name == "version" {
		return report(stderr, version(ctx, env{stdout: stdout}, args))
	}
	cfg, err := config.Load(getenv, localpg.DefaultDataDir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	// Records logged in a traced request or delivery carry its trace_id and span_id.
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	if name != "serve" {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return report(stderr, cmd.run(ctx, env{cfg: cfg, log: log, stdout: stdout}, args))
}

func report(stderr io.Writer, err error) int {
	var usage usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, err)
		return exitUsage
	case errors.Is(err, errNotFound):
		fmt.Fprintln(stderr, err)
		return exitNotFound
	default:
		fmt.Fprintln(stderr, "error:", err)
		return exitFailure
	}
}

type usageError string

func (u usageError) Error() string { return "usage: server " + string(u) }

func printUsage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "Usage: server [command] [args]\n\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.usage, c.help)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nEach command takes --help. Exit codes: 0 ok, 1 failure, 2 usage, 3 not found.")
	fmt.Fprintln(w, "Configuration comes from the environment (PORT, DATABASE_URL, JWT_SECRET, FRONTEND_URL, ...): see README.md.")
}

func serve(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		return usageError("serve")
	}
	e.log.Info("starting", "config", e.cfg)
	if set := tuneRuntime(e.cfg.GOGC, e.cfg.GOMemLimit); len(set) > 0 {
		e.log.Info("runtime defaults", set...)
	}
	if err := startPprof(ctx, e.cfg.PprofAddr, e.log); err != nil {
		return fmt.Errorf("PPROF_ADDR: %w", err)
	}
	if e.cfg.JWTSecretGenerated {
		e.log.Warn("JWT_SECRET is not set: using a random secret for this process (dev mode); tokens end with it")
	}
	return app.New(e.cfg, e.log).Run(ctx)
}

// withStore opens the database (starting the local one if DATABASE_URL is unset), applies the
// migrations and runs fn.
func withStore(ctx context.Context, e env, fn func(*store.Store) error) error {
	pool, closeDB, err := app.Database(ctx, e.cfg, e.log)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := store.Migrate(ctx, pool, migrations.FS); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return fn(store.New(pool))
}

func migrate(ctx context.Context, e env, args []string) error {
	sub := "up"
	if len(args) == 1 {
		sub = args[0]
	}
	if len(args) > 1 || (sub != "up" && sub != "status") {
		return usageError("migrate [up|status]")
	}
	pool, closeDB, err := app.Database(ctx, e.cfg, e.log)
	if err != nil {
		return err
	}
	defer closeDB()
	if sub == "status" {
		ms, err := store.Migrations(ctx, pool, migrations.FS)
		if err != nil {
			return err
		}
		for _, m := range ms {
			state := "pending"
			if m.Applied {
				state = "applied"
			}
			fmt.Fprintf(e.stdout, "%-8s %s\n", state, m.Version)
		}
		return nil
	}
	applied, err := store.Migrate(ctx, pool, migrations.FS)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintln(e.stdout, "applied", v)
	}
	return nil
}

func grantPDG(ctx context.Context, e env, args []string) error {
	return changeContact(ctx, e, args, "grant-pdg <email>", (*store.Store).GrantPDG,
		"no contact with email %s", "Contact %d (%s) is now PDG\n")
}

func revokePDG(ctx context.Context, e env, args []string) error {
	return changeContact(ctx, e, args, "revoke-pdg <email>", (*store.Store).RevokePDG,
		"no PDG with email %s", "Contact %d (%s) is no longer PDG\n")
}

func revokeTokens(ctx context.Context, e env, args []string) error {
	return changeContact(ctx, e, args, "revoke-tokens <email>", (*store.Store).RevokeTokens,
		"no contact with email %s", "Every token of contact %d (%s) is revoked\n")
}

// changeContact runs a command that takes one email: change applies it to the contact, then done
// (with the contact's id and email) is printed; notFound (with the email) is the error when change
// finds no such contact.
func changeContact(ctx context.Context, e env, args []string, usage string,
	change func(*store.Store, context.Context, string) (int64, error), notFound, done string,
) error {
	if len(args) != 1 {
		return usageError(usage)
	}
	return withStore(ctx, e, func(s *store.Store) error {
		email := domain.NormalizeEmail(args[0])
		id, err := change(s, ctx, email)
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf(notFound+": %w", email, errNotFound)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, done, id, email)
		return nil
	})
}

func listPDG(ctx context.Context, e env, args []string) error {
	if len(args) != 0 {
		return usageError("list-pdg")
	}
	return withStore(ctx, e, func(s *store.Store) error {
		pdgs, err := s.PDGs(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME")
		for _, p := range pdgs {
			fmt.Fprintf(tw, "%d\t%s\t%s %s\n", p.ID, p.Email, p.Prenom, p.Nom)
		}
		return tw.Flush()
	})
}

func version(_ context.Context, e env, _ []string) error {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(e.stdout, "artisan-notify (unknown version)")
		return nil
	}
	rev, modified, when := "", "", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		case "vcs.time":
			when = " " + s.Value
		}
	}
	fmt.Fprintf(e.stdout, "artisan-notify %s %s%s%s %s\n", info.Main.Version, rev, modified, when, info.GoVersion)
	return nil
}
