// Command ferretdb runs an embedded FerretDB v1 (SQLite backend) as the
// MongoDB-wire-compatible database for CI tests.
//
// Why this exists: the machine reaches only package registries, so there is no
// MongoDB binary to download. `go install .../cmd/ferretdb@v1.24.x` builds a
// binary that panics at start (it wants build/version/version.txt, which only
// FerretDB's own build generates). The embeddable package
// github.com/FerretDB/FerretDB/ferretdb has no such requirement, so this tiny
// wrapper is built from the Go module proxy instead (see ../ferretdb.sh).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP listen address")
	data := flag.String("data", "", "directory for SQLite database files (required)")
	debug := flag.Bool("debug", false, "debug logging")
	flag.Parse()

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if err := run(logger, *listen, *data); err != nil {
		logger.Error("ferretdb failed", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger, listen, data string) error {
	if data == "" {
		return fmt.Errorf("-data is required")
	}
	dir, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/", // must be a directory URI ending with '/'
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	logger.Info("ferretdb starting", "listen", listen, "data", dir)
	err = f.Run(ctx) // returns after ctx is canceled and everything is closed
	logger.Info("ferretdb stopped")
	return err
}
