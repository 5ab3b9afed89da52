// Package sftp is Junction's built-in SFTP server: partners log in with a
// password or a public key from the project's sftp.yaml, each confined to a
// folder of their own under the data folder (an os.Root, so neither ".." nor
// symbolic links lead out of it), and a completed upload can start a job.
package sftp

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"

	"junction/internal/project"
	"junction/internal/secrets"
)

// File is the project file that configures the server.
const File = "sftp.yaml"

// Config is sftp.yaml.
type Config struct {
	// Listen is host:port (default 127.0.0.1:2222); ${VAR} and
	// ${VAR:-default} resolve through the secrets rule (package secrets).
	Listen string `yaml:"listen"`
	Users  []User `yaml:"users"`
}

// User is one login.
type User struct {
	Name string `yaml:"name"`
	// Password, as ${VAR} or ${VAR:-default} (JUNCTION_SECRET_* or a key of
	// the secrets file); empty disables password login.
	Password string `yaml:"password"`
	// PublicKeys in authorized_keys format.
	PublicKeys []string `yaml:"publicKeys"`
	// Folder under the data folder's sftp/ (default: the user name).
	Folder string `yaml:"folder"`
}

var userPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,31}$`)

// check reports problems with c; env resolves ${VAR} (nil skips the check).
func (c *Config) check(env func(string) (string, bool)) []string {
	var ps []string
	if c.Listen == "" {
		c.Listen = "127.0.0.1:2222"
	}
	if !secrets.HasRef(c.Listen) && !strings.Contains(c.Listen, ":") {
		ps = append(ps, fmt.Sprintf("listen: %q is not host:port", c.Listen))
	}
	seen := map[string]bool{}
	for i := range c.Users {
		u := &c.Users[i]
		f := fmt.Sprintf("users[%d]", i)
		if !userPattern.MatchString(u.Name) {
			ps = append(ps, fmt.Sprintf("%s.name: %q must be lower case letters, digits, ., - and _", f, u.Name))
		}
		if seen[u.Name] {
			ps = append(ps, fmt.Sprintf("%s.name: %q appears twice", f, u.Name))
		}
		seen[u.Name] = true
		if u.Folder == "" {
			u.Folder = u.Name
		}
		if !userPattern.MatchString(u.Folder) {
			ps = append(ps, fmt.Sprintf("%s.folder: %q must be a plain folder name", f, u.Folder))
		}
		if u.Password == "" && len(u.PublicKeys) == 0 {
			ps = append(ps, f+": give a password or publicKeys")
		}
		if u.Password != "" && !secrets.HasRef(u.Password) {
			ps = append(ps, f+".password: write it as ${JUNCTION_SECRET_NAME}; passwords do not belong in project files")
		}
		for j, k := range u.PublicKeys {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
				ps = append(ps, fmt.Sprintf("%s.publicKeys[%d]: %v", f, j, err))
			}
		}
	}
	return ps
}

// ValidateProject checks sftp.yaml.
func (s *Server) ValidateProject(p *project.Project) []project.Problem {
	if !p.Exists(File) {
		return nil
	}
	var c Config
	if pr := p.DecodeYAML(File, &c); pr != nil {
		return pr
	}
	var out []project.Problem
	for _, m := range c.check(nil) {
		out = append(out, project.Problem{File: File, Message: m})
	}
	return out
}
