#!/usr/bin/env bash
# The batch and file tests drive the built-in SFTP server with the OpenSSH
# sftp client, and use MariaDB for MySQL sources and sinks (started by
# services.sh when installed).
set -u
if ! command -v sftp >/dev/null; then
  echo "installing openssh-client"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-client >/dev/null
fi
exit 0
