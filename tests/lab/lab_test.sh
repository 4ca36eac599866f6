#!/usr/bin/env bash
# InventoryLab: real Debian daemons in network namespaces of the test's own, ordinary clients
# talking to them, and utkikk-sensor capturing live on the server's veth. Afterwards the inventory
# must name each daemon's product with the version `dpkg-query` reports for its package, the
# server's OS, and the DHCP client's name, MAC and lease.
#
# usage: lab_test.sh PATH/TO/utkikk-sensor PATH/TO/utkikk
# Needs root, iproute2 and the packages `tools/setup --test` installs for the tests (openssh-server,
# nginx, vsftpd, exim4-daemon-light, snmpd + snmp, mariadb-server, isc-dhcp-server +
# isc-dhcp-client, curl, python3); exits 77 (skip) without them. Addresses: 10.99.0.0/24 inside
# the two namespaces only; both namespaces, every daemon and every temporary file go away on any
# exit (after a SIGKILL, at the start of the next run).
set -uo pipefail
sensor=${1:?usage: lab_test.sh utkikk-sensor utkikk}
cli=${2:?usage: lab_test.sh utkikk-sensor utkikk}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null || skip "ip (iproute2) not installed"
for p in sshd:openssh-server nginx:nginx vsftpd:vsftpd exim4:exim4-daemon-light \
         snmpd:snmpd snmpget:snmp mariadbd:mariadb-server dhcpd:isc-dhcp-server \
         dhclient:isc-dhcp-client curl:curl ssh-keyscan:openssh-client python3:python3; do
  [ -x "/usr/sbin/${p%%:*}" ] || command -v "${p%%:*}" >/dev/null ||
    skip "${p#*:} not installed (tools/setup --test installs the lab's packages)"
done
[ -x "$sensor" ] || fail "no sensor binary at $sensor"

# Namespaces left by a run that was killed (SIGKILL from a CTest timeout leaves no trap): the pid
# in their name no longer runs lab_test.sh. Their daemons go with them.
for ns in $(ip netns list 2>/dev/null | grep -o '^utk-lab-[sc]-[0-9]*'); do
  owner=${ns##*-}
  grep -qs lab_test.sh "/proc/$owner/cmdline" && continue
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null && echo "removed $ns, left by an earlier run"
  rm -rf "/tmp/utkikk-lab-$owner".*
done

ns_s="utk-lab-s-$$"
ns_c="utk-lab-c-$$"
veth_s="utklabs$$"; veth_s=${veth_s:0:15}
veth_c="utklabc$$"; veth_c=${veth_c:0:15}
srv=10.99.0.1
cl=10.99.0.2
tmp=$(mktemp -d "/tmp/utkikk-lab-$$.XXXXXX")
chmod 755 "$tmp"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  sleep 0.3
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  for f in "$tmp"/*.pid; do [ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  # Anything still running in the namespaces (daemons that forked).
  for ns in "$ns_s" "$ns_c"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ "${KEEP_LAB:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$ns_s" 2>"$tmp/netns.err" || skip "ip netns add failed: $(cat "$tmp/netns.err")"
ip netns add "$ns_c" || fail "ip netns add $ns_c"
ip link add "$veth_s" netns "$ns_s" type veth peer name "$veth_c" netns "$ns_c" ||
  fail "creating the veth pair"
ip -n "$ns_s" addr add "$srv/24" dev "$veth_s"
ip -n "$ns_c" addr add "$cl/24" dev "$veth_c"
for side in "$ns_s:$veth_s" "$ns_c:$veth_c"; do
  ip -n "${side%%:*}" link set "${side#*:}" up
  ip -n "${side%%:*}" link set lo up
done
# For foreground commands only: a function run with & is a subshell, and $! would be
# the subshell's pid, not the daemon's.
in_c() { ip netns exec "$ns_c" "$@"; }
client_mac=$(ip -n "$ns_c" link show "$veth_c" | awk '/link\/ether/ {print $2}')

# ---- the sensor, capturing on the server's side of the link -------------------------------
mkdir -p "$tmp/logs"
cat >"$tmp/sensor.yaml" <<YAML
member_id: lab
user: root
inventory: {database: $tmp/inventory.db}
logs: {format: json}
YAML
ip netns exec "$ns_s" "$sensor" --config "$tmp/sensor.yaml" --interface "$veth_s" \
  --log-dir "$tmp/logs" >"$tmp/sensor.out" 2>"$tmp/sensor.err" &
sensor_pid=$!
pids+=("$sensor_pid")
for _ in $(seq 100); do
  grep -qi capturing "$tmp/sensor.err" 2>/dev/null && break
  kill -0 "$sensor_pid" 2>/dev/null || { cat "$tmp/sensor.err"; fail "sensor exited early"; }
  sleep 0.1
done
grep -qi capturing "$tmp/sensor.err" ||
  { cat "$tmp/sensor.err"; fail "the sensor does not say it is capturing on $veth_s after 10 s"; }

# ---- the daemons, each in the foreground with a throwaway configuration ------------------
# sshd
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh_host_key" || fail "ssh-keygen"
cat >"$tmp/sshd_config" <<EOF
ListenAddress $srv
Port 22
HostKey $tmp/ssh_host_key
PidFile $tmp/sshd.pid
UsePAM no
EOF
ip netns exec "$ns_s" /usr/sbin/sshd -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.err" &
pids+=($!)

# nginx (server_tokens on: the Server header carries the version, Debian's default)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<EOF
pid $tmp/nginx.pid;
error_log $tmp/nginx/error.log;
events {}
http {
  server_tokens on;
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server { listen $srv:80; location / { return 200 "lab\n"; } }
}
EOF
ip netns exec "$ns_s" /usr/sbin/nginx -c "$tmp/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx.err" &
pids+=($!)

# vsftpd
mkdir -p /var/run/vsftpd/empty
cat >"$tmp/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$srv
background=NO
anonymous_enable=YES
anon_root=/var/run/vsftpd/empty
no_anon_password=YES
local_enable=NO
secure_chroot_dir=/var/run/vsftpd/empty
EOF
ip netns exec "$ns_s" /usr/sbin/vsftpd "$tmp/vsftpd.conf" 2>"$tmp/vsftpd.err" &
pids+=($!)

# exim4 with a throwaway configuration (-C): its own spool and log under $tmp, nothing written to
# /var/spool/exim4 or /var/log/exim4 of the host. Run by root, exim keeps root with -C (it drops
# to the caller's uid). The default smtp_banner carries the version:
# "220 <host> ESMTP Exim 4.96 <date>".
mkdir -p "$tmp/exim/spool" "$tmp/exim/log"
cat >"$tmp/exim.conf" <<EOF
primary_hostname = lab-server.test
spool_directory = $tmp/exim/spool
log_file_path = $tmp/exim/log/%slog
exim_user = root
exim_group = root
never_users =
keep_environment =
tls_advertise_hosts =
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  deny
EOF
ip netns exec "$ns_s" /usr/sbin/exim4 -C "$tmp/exim.conf" -bdf -oX "$srv.25" -oP "$tmp/exim.pid" \
  2>"$tmp/exim.err" &
pids+=($!)

# snmpd (its own configuration only: -C)
cat >"$tmp/snmpd.conf" <<EOF
rocommunity public 10.99.0.0/24
EOF
# (its persistent state too: SNMP_PERSISTENT_DIR, not /var/lib/snmp)
mkdir -p "$tmp/snmp"
ip netns exec "$ns_s" env SNMP_PERSISTENT_DIR="$tmp/snmp" /usr/sbin/snmpd -f -Lf "$tmp/snmpd.log" \
  -C -c "$tmp/snmpd.conf" -p "$tmp/snmpd.pid" "udp:$srv:161" &
pids+=($!)

# mariadb: a fresh data directory, TCP on the lab address
mariadb-install-db --no-defaults --datadir="$tmp/mysql" --user=root \
  --auth-root-authentication-method=normal --skip-test-db >"$tmp/mariadb-install.log" 2>&1 ||
  { tail -5 "$tmp/mariadb-install.log"; fail "mariadb-install-db"; }
ip netns exec "$ns_s" /usr/sbin/mariadbd --no-defaults --datadir="$tmp/mysql" --user=root \
  --socket="$tmp/mysql.sock" --pid-file="$tmp/mariadb.pid" --bind-address="$srv" --port=3306 \
  --skip-log-bin --skip-grant-tables --skip-name-resolve >"$tmp/mariadb.log" 2>&1 &
pids+=($!)

# dhcpd
touch "$tmp/dhcpd.leases"
cat >"$tmp/dhcpd.conf" <<EOF
authoritative;
default-lease-time 600;
max-lease-time 600;
subnet 10.99.0.0 netmask 255.255.255.0 {
  range 10.99.0.100 10.99.0.150;
  option domain-name "lab.test";
}
EOF
ip netns exec "$ns_s" /usr/sbin/dhcpd -f -d -4 -cf "$tmp/dhcpd.conf" -lf "$tmp/dhcpd.leases" \
  -pf "$tmp/dhcpd.pid" "$veth_s" >"$tmp/dhcpd.log" 2>&1 &
pids+=($!)

# Wait for the TCP daemons to listen (at most 30 s).
wait_port() {
  for _ in $(seq 300); do
    in_c python3 -c "import socket,sys; socket.create_connection(('$srv', $1), 0.2).close()" \
      2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
for port in 22 80 21 25 3306; do
  wait_port "$port" ||
    { tail -3 "$tmp"/*.err "$tmp"/*.log 2>/dev/null; fail "nothing listens on $srv:$port"; }
done

# ---- ordinary clients ------------------------------------------------------------------------
in_c ssh-keyscan -T 5 "$srv" >"$tmp/keyscan.out" 2>&1 || fail "ssh-keyscan"
in_c curl -sS -m 5 "http://$srv/" >"$tmp/curl.out" || fail "curl"
in_c python3 - "$srv" >"$tmp/clients.out" 2>&1 <<'PY' || { cat "$tmp/clients.out"; fail "clients"; }
import ftplib, smtplib, socket, sys
srv = sys.argv[1]
ftp = ftplib.FTP(srv, timeout=5)
print("ftp:", ftp.getwelcome())
ftp.close()
smtp = smtplib.SMTP(srv, 25, local_hostname="lab-client", timeout=5)
print("smtp:", smtp.ehlo()[0])
smtp.quit()
s = socket.create_connection((srv, 3306), 5)
greeting = s.recv(512)
print("mysql:", greeting[5:40])
s.close()
PY
in_c snmpget -v2c -c public -t 2 -r 1 "$srv" 1.3.6.1.2.1.1.1.0 >"$tmp/snmp.out" 2>&1 ||
  { cat "$tmp/snmp.out"; fail "snmpget"; }
cat >"$tmp/dhclient.conf" <<EOF
send host-name "lab-client";
request subnet-mask, broadcast-address, routers, domain-name;
EOF
in_c dhclient -4 -1 -v -cf "$tmp/dhclient.conf" -lf "$tmp/dhclient.leases" \
  -pf "$tmp/dhclient.pid" -sf /bin/true "$veth_c" >"$tmp/dhclient.out" 2>&1 ||
  { cat "$tmp/dhclient.out"; fail "dhclient got no lease"; }
lease=$(sed -n 's/.*bound to \([0-9.]*\).*/\1/p' "$tmp/dhclient.out" | head -1)
[ -s "$tmp/dhclient.pid" ] && kill "$(cat "$tmp/dhclient.pid")" 2>/dev/null

# Let the last flows end, then stop the sensor (SIGTERM ends every flow and closes the store).
sleep 1
kill -TERM "$sensor_pid"
for _ in $(seq 300); do kill -0 "$sensor_pid" 2>/dev/null || break; sleep 0.1; done
wait "$sensor_pid"
status=$?
[ "$status" -eq 0 ] || { tail -20 "$tmp/sensor.err"; fail "sensor exited with $status"; }

# ---- the check ------------------------------------------------------------------------------
"$cli" inventory --db "$tmp/inventory.db" --format json >"$tmp/inventory.jsonl" ||
  fail "utkikk inventory"
# The version of the package that owns the binary the lab ran (mariadbd is in
# mariadb-server-core, /usr/sbin/nginx in nginx), as dpkg-query reports it; the named package when
# dpkg -S does not know the path.
version() {  # version BINARY FALLBACK-PACKAGE
  local pkg
  pkg=$(dpkg -S "$(readlink -f "$1")" 2>/dev/null | grep -v '^diversion' | head -1 | cut -d: -f1)
  echo "${pkg:-$2}=$(dpkg-query -W -f '${Version}' "${pkg:-$2}")"
}
python3 - "$tmp/inventory.jsonl" "$srv" "$client_mac" "${lease:-}" \
  "$(version /usr/sbin/sshd openssh-server)" "$(version /usr/sbin/nginx nginx)" \
  "$(version /usr/sbin/vsftpd vsftpd)" "$(version /usr/sbin/exim4 exim4-daemon-light)" \
  "$(version /usr/sbin/mariadbd mariadb-server)" "$(uname -r)" \
  "$(cat "$tmp/snmp.out")" <<'PY'
import json, re, sys
(path, srv, client_mac, lease, v_ssh, v_nginx, v_vsftpd, v_exim, v_mariadb, kernel,
 snmp_out) = sys.argv[1:]
hosts = [json.loads(l) for l in open(path) if l.strip()]

def package(v):           # "openssh-server=1:9.2p1-2+deb12u10" -> "openssh-server"
    return v.split("=", 1)[0]
def upstream(v):          # "1:9.2p1-2+deb12u10" -> "9.2p1"
    v = v.split("=", 1)[-1]
    v = v.split(":", 1)[-1]
    return v.rsplit("-", 1)[0] if "-" in v else v
def revision(v):          # -> "2+deb12u10"
    v = v.split("=", 1)[-1]
    v = v.split(":", 1)[-1]
    return v.rsplit("-", 1)[1] if "-" in v else ""

server = [h for h in hosts if any(a["ip"] == srv for a in h["addresses"])]
software = []
for h in server:
    for s in h["services"]:
        for sw in s["software"]:
            software.append((s["port"], s["protocol"], sw))
    software += [(sw["port"], "", sw) for sw in h.get("other_software", [])]
os_guesses = [o for h in server for o in h["os"]]

rows = []
def check(what, expected, found, ok):
    rows.append((what, expected, found, "ok" if ok else "MISMATCH"))

def find(port, product):
    for p, _, sw in software:
        if p == port and sw["product"].lower() == product.lower():
            return sw
    return None

def software_row(what, port, product, version, banner_revision=""):
    sw = find(port, product)
    found = f'{sw["product"]} {sw["version"]} ({sw["raw"]})' if sw else "nothing"
    ok = sw is not None and sw["version"] == version and banner_revision in sw["raw"]
    check(what, f"{product} {version}" + (f" ({banner_revision})" if banner_revision else ""),
          found, ok)

software_row(f"sshd ({package(v_ssh)})", 22, "OpenSSH", upstream(v_ssh), revision(v_ssh))
software_row(f"nginx ({package(v_nginx)})", 80, "nginx", upstream(v_nginx))
software_row(f"vsftpd ({package(v_vsftpd)})", 21, "vsftpd", upstream(v_vsftpd))
software_row(f"exim4 ({package(v_exim)})", 25, "Exim", upstream(v_exim))
software_row(f"mariadbd ({package(v_mariadb)})", 3306, "MariaDB", upstream(v_mariadb),
             revision(v_mariadb))

# The OS: Debian from the SSH banner's distribution suffix; Linux and the kernel from sysDescr.
debian = [o for o in os_guesses if o["source"] == "ssh" and
          "debian" in (o["vendor"] + o["product"] + o["family"]).lower()]
check("OS (SSH banner)", "Debian",
      ", ".join(sorted({f'{o["vendor"]} {o["product"] or o["family"]} [{o["source"]}]'.strip()
                        for o in os_guesses})) or "nothing",
      bool(debian))
linux = [o for o in os_guesses if o["source"] == "snmp" and "linux" in
         (o["product"] + o["family"]).lower()]
kernel_ok = any(kernel in (o["version"] + " " + o["raw"]) for o in linux)
check("OS (snmpd sysDescr)", f"Linux {kernel}",
      ", ".join(f'{o["product"] or o["family"]} {o["version"]}' for o in linux) or "nothing",
      bool(linux) and kernel_ok)
# snmpd's sysDescr names the system, not net-snmp: the test checks what it can show.

client = [h for h in hosts if (h.get("mac") or "").lower() == client_mac.lower()]
names = {n["name"] for h in client for n in h["names"]}
addrs = {a["ip"] for h in client for a in h["addresses"]}
check("DHCP client name", "lab-client", ", ".join(sorted(names)) or "nothing",
      "lab-client" in names)
check("DHCP lease", lease or "(dhclient said nothing)", ", ".join(sorted(addrs)) or "nothing",
      bool(lease) and lease in addrs)

width = max(len(r[0]) for r in rows)
print(f'{"what":<{width}}  {"expected (dpkg-query / the lab)":<40}  '
      f'{"found in the inventory":<60}  result')
for what, expected, found, result in rows:
    print(f"{what:<{width}}  {expected:<40}  {found[:60]:<60}  {result}")
bad = [r for r in rows if r[3] != "ok"]
for what, expected, found, _ in bad:
    print(f"MISMATCH {what}: expected {expected}, the inventory has {found}")
sys.exit(1 if bad else 0)
PY
result=$?
if [ "$result" -ne 0 ]; then
  echo "--- sensor log"; tail -5 "$tmp/sensor.err"
  fail "the inventory does not show what the lab runs (table above)"
fi
echo "PASS: every daemon, version and OS of the lab is in the inventory"
