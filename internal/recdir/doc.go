// Package recdir owns a recording directory on disk: every name this
// program writes into it, the one predicate that tells our files from
// Jibri's (IsOurs), and the record that carries a recording's state from
// one run to the next.
//
// The record (RecordFile) merges what earlier releases kept in two files,
// .finalize-state.json (attempts, last error) and .finalize-journal.json
// (layout, uploads, parts, the committed manifest): the key pinned for each
// file the first time it was rendered, the file's identity when its upload
// began, the multipart upload id, part size, algorithm and parts, the
// completed version and checksum, the committed manifest (the commit
// marker) and the kept flag. Open migrates a directory an earlier release
// left; the legacy files are removed once the record is on disk.
//
// Every write of the record goes through one atomic commit: the fixed temp
// name TempFile (it carries our prefix, so a kill -9 mid-write leaves a
// file that scan, inventory and cleanup recognise), fsync, rename, fsync of
// the directory. Only the holder of the directory lock writes.
//
// Scan (package recording), inventory and cleanup ask this package, and
// nothing else, which names are ours; cleanup removes exactly the names
// listed here, never a glob.
package recdir
