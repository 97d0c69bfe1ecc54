# Shared by the lab's ubus and supervisor (sourced, not run): paths, the host-wide lock, atomic writes, procd's log.
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
	mkdir -p "$ST"
	until mkdir "$ST/lock" 2>/dev/null; do
		_o=$(cat "$ST/lock/pid" 2>/dev/null)
		if [ -n "$_o" ] && ! kill -0 "$_o" 2>/dev/null; then rm -rf "$ST/lock"; continue; fi
		msleep 0.01
	done
	echo $$ > "$ST/lock/pid"
}
unlock() { rm -rf "$ST/lock"; }

# Readers (ubus call service list) never see a half-written state file.
put() { printf '%s\n' "$2" > "$1.$$" && mv -f "$1.$$" "$1"; }

# procd's own messages go where the lab's logread reads them (tagged "procd").
plog() { mkdir -p /var/log; echo "$*" >> /var/log/procd.log; }

# An instance's parameter from its definition (lines "key value..."), or $2 when unset.
param() { _v=$(sed -n "s/^$1 //p" "$D/def/params" 2>/dev/null | tail -n 1); [ -n "$_v" ] && echo "$_v" || echo "$2"; }

# Is the supervisor recorded for instance dir $1 alive (and really ours, not a reused PID)?
sup_alive() {
	_p=$(cat "$1/sup" 2>/dev/null)
	[ -n "$_p" ] && [ -r "/proc/$_p/cmdline" ] || return 1
	case "$("$BB" tr '\0' ' ' < "/proc/$_p/cmdline")" in *"supervise $1"*) return 0 ;; esac
	return 1
}
