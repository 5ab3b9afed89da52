package app

import (
	"junction/internal/job"
	"junction/internal/project"
	"junction/internal/sftp"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
func buildComponents(d Deps) []Component {
	sftpServer := sftp.New(sftp.Options{DataDir: d.DataDir, Logger: d.Logger})
	jobs := job.New(job.Config{Store: d.Store, Logger: d.Logger, NodeID: d.NodeID, DataDir: d.DataDir, SFTP: sftpServer})
	sftpServer.SetOnUpload(jobs.FileArrived)
	return []Component{sftpServer, jobs}
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	return []project.Validator{job.New(job.Config{}), sftp.New(sftp.Options{})}
}
