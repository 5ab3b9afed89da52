#!/usr/bin/env bash
# Starts the local services the tests talk to, if they are installed and down.
# Each is started the way the machine starts it; nothing is started twice.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() { for _ in $(seq 1 60); do up "$1" && return 0; sleep 0.5; done; echo "service on port $1 did not start" >&2; return 1; }

if ! up 5432 && command -v pg_ctlcluster >/dev/null; then
  echo "starting PostgreSQL"; pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start; wait_up 5432
fi
if ! up 3306 && [ -x /usr/sbin/mariadbd ]; then
  echo "starting MariaDB"; start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd; wait_up 3306
fi
if ! up 6379 && command -v redis-server >/dev/null; then
  echo "starting Redis"; redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log; wait_up 6379
fi
if ! up 5672 && command -v rabbitmq-server >/dev/null; then
  echo "starting RabbitMQ"; rabbitmq-server -detached; wait_up 5672
fi
if ! up 1883 && command -v mosquitto >/dev/null; then
  echo "starting Mosquitto"; mosquitto -d -c /etc/mosquitto/mosquitto.conf; wait_up 1883
fi
if ! up 4222 && [ -x /usr/sbin/nats-server ]; then
  echo "starting NATS"; start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log; wait_up 4222
fi
exit 0
