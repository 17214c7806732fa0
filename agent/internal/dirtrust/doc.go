// Package dirtrust decides whether a plugin directory and the files in it
// are safe to load from, and reads them without being tricked: a directory
// or file writable by group or others, one owned by someone the Policy does
// not allow, a symlink leading out of the directory, a FIFO or device in
// place of a module, or a file too large to read are refused with an error
// that says what is wrong.
//
// Every check is made on an open file descriptor (openat with O_NOFOLLOW,
// then fstat), so the file read is the file checked. The configured
// directory may itself be a symlink: it is resolved once. Directories above
// it are the operator's and are not checked. The kernel's
// fs.protected_hardlinks (on by default) keeps a tenant from hard-linking
// another user's file into its directory.
//
// It leaves what a directory is for (which names are plugins, watching for
// changes) to the caller, and knows nothing of the config: the caller turns
// a tenant's uids into a Policy. Uses only the standard library and
// golang.org/x/sys/unix; Linux only.
package dirtrust
