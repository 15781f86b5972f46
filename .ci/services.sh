#!/usr/bin/env bash
# Makes sure the services the integration tests use are up on this machine: nats-server with
# JetStream on 127.0.0.1:4222 and PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth,
# database `test`). Installs them from Debian's packages when missing. Never stops anything.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  for _ in $(seq 1 60); do
    port_open "$1" && return 0
    sleep 0.5
  done
  echo "service on port $1 did not come up" >&2
  return 1
}

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_nats() {
  if port_open 4222; then echo "nats: up"; return; fi
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
  local bin; bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  mkdir -p /var/lib/nats-server /var/log
  start-stop-daemon --start --oknodo --background --exec "$bin" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for_port 4222
  echo "nats: started"
}

ensure_postgres() {
  if ! port_open 5432; then
    if [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
      apt_install postgresql
    fi
    local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    # Tests connect as postgres over TCP without a password, as on the project's machines.
    if ! grep -q "nexus-ci" "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust # nexus-ci\nhost all all ::1/128 trust # nexus-ci' "$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for_port 5432
    echo "postgres: started"
  else
    echo "postgres: up"
  fi
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname = 'test'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -d postgres -c "create database test" >/dev/null
  fi
}

# The fault and security tests start private instances of their own on free ports: they need the
# nats-server binary, PostgreSQL's initdb and pg_ctl, openssl (test certificates) and runuser.
ensure_private_tools() {
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
  command -v openssl >/dev/null || apt_install openssl
  command -v runuser >/dev/null || apt_install util-linux
  echo "private-instance tools: present"
}

ensure_nats
ensure_postgres
ensure_private_tools
