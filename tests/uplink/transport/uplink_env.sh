# Sourced by the uplink's process tests (crash_test.sh, outage_test.sh): makes a throwaway PKI,
# the sensor's signing key, a collector and an uplink config on a free loopback port in $work,
# enrolls sensor s1 for member m1, and defines start_collector / start_uplink (pids in
# $cpid / $upid, logs in $work). Needs: $root (the checkout), $build (the build dir), $work.
"$root/tools/pki" init "$work/pki" >/dev/null
"$root/tools/pki" collector "$work/pki" col >/dev/null
"$root/tools/pki" sensor "$work/pki" s1 >/dev/null
umask 077
openssl genpkey -algorithm ed25519 -out "$work/sensor.key" 2>/dev/null
openssl pkey -in "$work/sensor.key" -pubout -out "$work/sensor.pub"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/collector.yaml" <<YAML
store_url: "sqlite://$work/collector.db"
listen_address: 127.0.0.1
listen_port: $port
tls_cert: $work/pki/collector-col.crt
tls_key: $work/pki/collector-col.key
tls_ca: $work/pki/sensor-client-ca.crt
YAML
cat >"$work/uplink.yaml" <<YAML
sensor_id: s1
spool_dir: $work/spool
state_dir: $work/state
signing_key: $work/sensor.key
tls_cert: $work/pki/sensor-s1.crt
tls_key: $work/pki/sensor-s1.key
tls_ca: $work/pki/collector-server-ca.crt
collector_address: 127.0.0.1
collector_port: $port
window: 8
ack_timeout: 1s
heartbeat_interval: 1s
silence_timeout: 5s
rescan_interval: 50ms
retry: 1s
YAML
collector="$build/utkikk-collector"
uplink="$build/utkikk-uplink"
"$collector" --config "$work/collector.yaml" enroll --member m1 --sensor-id s1 \
  --sensor-key "$work/sensor.pub" >/dev/null
mkdir -p "$work/spool"

start_collector() { "$collector" --config "$work/collector.yaml" run 2>>"$work/collector.log" & cpid=$!; }
start_uplink() { "$uplink" --config "$work/uplink.yaml" 2>>"$work/uplink.log" & upid=$!; }
