# Shared by the lab's ubus and supervisor (sourced, not run): paths, the host-wide lock, atomic writes, procd's log.
# Builtins over forks wherever it is cheap: a loaded router (or lab) pays for every process, and stop must return at once.
# The private BusyBox (a full one, not on PATH) gives sub-second sleeps and setsid: OpenWrt's own sleep takes whole
# seconds, and what init scripts see on PATH must stay OpenWrt's.
LAB_PROCD=/usr/libexec/lab-procd
BB=$LAB_PROCD/busybox
ST=/var/run/lab-procd

msleep() { "$BB" sleep "$1"; }
# Centiseconds since boot: respawn thresholds are compared at this precision (procd uses its monotonic clock).
uptime_cs() { read -r _up _ < /proc/uptime; _s=${_up%.*}; _c=${_up#*.}; echo $((_s * 100 + ${_c#0})); }

# One lock for the whole host: set/delete and each supervisor's after-exit decision never interleave.
lock() {
	[ -d "$ST" ] || mkdir -p "$ST"
	set -C
	until { echo $$ > "$ST/lock"; } 2>/dev/null; do
		_o=; read -r _o 2>/dev/null < "$ST/lock"
		if [ -n "$_o" ] && [ ! -d "/proc/$_o" ]; then rm -f "$ST/lock"; continue; fi
		msleep 0.01
	done
	set +C
}
unlock() { rm -f "$ST/lock"; }

# Readers (ubus call service list) never see a half-written state file.
put() { printf '%s\n' "$2" > "$1.$$" && mv -f "$1.$$" "$1"; }

# procd's own messages go where the lab's logread reads them (tagged "procd").
plog() { mkdir -p /var/log; echo "$*" >> /var/log/procd.log; }

# An instance's parameter from its definition (lines "key value..."), or $2 when unset.
param() {
	_v=$2
	while read -r _k _w; do [ "$_k" = "$1" ] && _v=$_w; done < "$D/def/params"
	echo "$_v"
}

# The first line of a file (empty when absent), without a process.
first() { _l=; read -r _l 2>/dev/null < "$1"; echo "$_l"; }

# Is the supervisor recorded for instance dir $1 alive? (Each removes its record when it ends.)
sup_alive() { _p=; read -r _p 2>/dev/null < "$1/sup"; [ -n "$_p" ] && [ -d "/proc/$_p" ]; }
