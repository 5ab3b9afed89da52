#!/usr/bin/env bash
# Installs the servers the connector tests start for themselves: OpenSSH's
# sshd with its sftp-server (internal/connector/sftp) and OpenSMTPD
# (internal/connector/smtp). The tests run their own instances on free
# loopback ports with temporary configuration; nothing is started here.
set -u
need=()
[ -x /usr/sbin/sshd ] && [ -x /usr/lib/openssh/sftp-server ] || need+=(openssh-server openssh-sftp-server)
[ -x /usr/sbin/smtpd ] || need+=(opensmtpd)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || { echo "could not install ${need[*]}" >&2; exit 1; }
  # Debian starts services it installs where it can; the tests want none running.
  command -v service >/dev/null && { service ssh stop >/dev/null 2>&1; service opensmtpd stop >/dev/null 2>&1; } || true
fi
exit 0
