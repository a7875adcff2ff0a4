#!/usr/bin/env bash
# RabbitMQ (Debian's rabbitmq-server, with the management plugin, as rabbitmq-local runs it) in the
# foreground on PORT with its state in HOME_DIR: `npm run bench` times its start-up with bench.mjs.
#   bench/rabbitmq-startup.sh PORT HOME_DIR
set -euo pipefail
port=$1
home=$2
mkdir -p "$home/log" "$home/mnesia"
printf 'listeners.tcp.default = %s\nmanagement.tcp.port = %s\nmanagement.tcp.ip = 127.0.0.1\nloopback_users = none\n' "$port" "$((port + 10000))" >"$home/rabbitmq.conf"
echo '[rabbitmq_management].' >"$home/enabled_plugins"
export RABBITMQ_NODENAME=rabbit_startup_$port@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_DIST_PORT=$((port + 20000)) RABBITMQ_CONFIG_FILE=$home/rabbitmq
export RABBITMQ_MNESIA_BASE=$home/mnesia RABBITMQ_LOG_BASE=$home/log RABBITMQ_ENABLED_PLUGINS_FILE=$home/enabled_plugins
export RABBITMQ_PID_FILE=$home/pid RABBITMQ_FEATURE_FLAGS_FILE=$home/feature_flags HOME=$home
# Debian's /usr/sbin/rabbitmq-server re-runs itself through su as the rabbitmq user, in a process the
# start-up tool's SIGTERM does not reach: run the real script, so that the Erlang VM is ours to stop
real=/usr/lib/rabbitmq/bin/rabbitmq-server
exec "$([[ -x $real ]] && echo "$real" || command -v rabbitmq-server)"
