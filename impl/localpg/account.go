package localpg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// account is the operating-system user that runs initdb, pg_ctl and the server.
type account struct {
	name string
	// cred is nil when the programs run as the current user.
	cred *syscall.Credential
}

// accountFor returns the account that runs PostgreSQL for dataDir. PostgreSQL
// refuses to run as root: then an existing cluster runs as the user that owns
// it (unless that is root), and a new one as "postgres", or "nobody" if there
// is no such user.
func accountFor(dataDir string) (account, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return account{name: strconv.Itoa(os.Geteuid())}, nil
		}
		return account{name: u.Username}, nil
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
			name := strconv.Itoa(int(st.Uid))
			if u, err := user.LookupId(name); err == nil {
				name = u.Username
			}
			return account{name: name, cred: &syscall.Credential{Uid: st.Uid, Gid: st.Gid}}, nil
		}
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			errs = append(errs, fmt.Errorf("user %s: %w", name, err))
			continue
		}
		return account{name: name, cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, nil
	}
	return account{}, fmt.Errorf("running as root, and PostgreSQL refuses root: no postgres or nobody user to run it as: %w",
		errors.Join(errs...))
}

// chown gives path, and everything below it, to the account; it does nothing
// when the account is the current user or already owns path.
func (a account) chown(path string) error {
	if a.cred == nil {
		return nil
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == a.cred.Uid && st.Gid == a.cred.Gid {
		return nil
	}
	uid, gid := int(a.cred.Uid), int(a.cred.Gid)
	return filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// checkReachable returns an error if the account cannot enter every directory
// above dir (root's home, mode 0700, is the usual culprit).
func (a account) checkReachable(dir string) error {
	if a.cred == nil {
		return nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		var bit fs.FileMode = 0o001
		switch {
		case st.Uid == a.cred.Uid:
			bit = 0o100
		case st.Gid == a.cred.Gid:
			bit = 0o010
		}
		if fi.Mode().Perm()&bit == 0 {
			return fmt.Errorf("user %s, which runs PostgreSQL because it refuses root, cannot enter %s (mode %v): "+
				"choose a data directory it can reach, such as one under /var/lib or /tmp", a.name, d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// uid is the account's user id.
func (a account) uid() int {
	if a.cred == nil {
		return os.Geteuid()
	}
	return int(a.cred.Uid)
}
