// Command lambdazip writes a Lambda deployment package: a zip holding one
// executable, named bootstrap for the provided.al2023 runtime, so that make
// lambda needs no zip binary. The entry's time is fixed, so the same binary
// gives the same zip.
//
//	go run ./tools/lambdazip -o dist/rotate-secret.zip [-name bootstrap] BINARY
//
// Exit codes: 0 ok; 1 the zip could not be written (no partial file is left);
// 2 usage error.
package main

import (
	"archive/zip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("lambdazip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "zip file to write")
	name := fs.String("name", "bootstrap", "name of the executable inside the zip")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "lambdazip: usage: lambdazip -o OUT.zip [-name bootstrap] BINARY")
		return 2
	}
	if err := write(*out, *name, fs.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "lambdazip: %v\n", err)
		return 1
	}
	return 0
}

// modTime is the entry's fixed time (zip cannot store times before 1980).
var modTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func write(out, name, binary string) (err error) {
	in, err := os.Open(binary)
	if err != nil {
		return fmt.Errorf("cannot read the executable: %w", err)
	}
	defer in.Close()
	if st, err := in.Stat(); err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable regular file", binary)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".lambdazip-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	zw := zip.NewWriter(tmp)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modTime}
	// Lambda runs bootstrap only if the zip records it as executable (Unix mode in the
	// external attributes, which SetMode writes with the creator set to Unix).
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		return fmt.Errorf("cannot compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
