# The lab's /lib/functions/procd.sh: the procd_* calls init scripts make (OpenWrt's names and defaults), collected
# into a spool directory that `ubus call service set` hands to the lab's procd. Uses only OpenWrt's default tools.
# Each instance: command (one word a line), params ("key value..." lines), env (K=V lines), files ("path md5" lines).

procd_lock() { :; }

procd_open_service() {
	_PROCD_SERVICE=$1
	_PROCD_SPOOL=/tmp/.procd-spool.$$
	rm -rf "$_PROCD_SPOOL"; mkdir -p "$_PROCD_SPOOL"
	_PROCD_COUNT=0
	: > "$_PROCD_SPOOL/order"
}

procd_close_service() {
	service_triggers
	service_data 2>/dev/null
	ubus call service "${1:-set}" "{ \"name\": \"$_PROCD_SERVICE\", \"lab_spool\": \"$_PROCD_SPOOL\" }"
	_r=$?
	rm -rf "$_PROCD_SPOOL"; _PROCD_SPOOL=
	return $_r
}

procd_open_instance() {
	_PROCD_COUNT=$((_PROCD_COUNT + 1))
	_PROCD_INSTANCE=${1:-instance$_PROCD_COUNT}
	_PROCD_I=$_PROCD_SPOOL/i/$_PROCD_INSTANCE
	mkdir -p "$_PROCD_I"
	: > "$_PROCD_I/command"; : > "$_PROCD_I/params"; : > "$_PROCD_I/env"; : > "$_PROCD_I/files"
	echo "$_PROCD_INSTANCE" >> "$_PROCD_SPOOL/order"
}

procd_close_instance() { _PROCD_I=; }

# The default respawn is procd.sh's: threshold 3600 s, timeout 5 s, retry 5.
_procd_param() { # append|set key values...
	_mode=$1; _key=$2; shift 2
	[ -n "$_PROCD_I" ] || return 0
	case "$_key" in
		command)
			[ "$_mode" = set ] && : > "$_PROCD_I/command"
			for _w in "$@"; do printf '%s\n' "$_w" >> "$_PROCD_I/command"; done ;;
		env)
			[ "$_mode" = set ] && : > "$_PROCD_I/env"
			for _w in "$@"; do printf '%s\n' "$_w" >> "$_PROCD_I/env"; done ;;
		file)
			[ "$_mode" = set ] && : > "$_PROCD_I/files"
			for _w in "$@"; do
				_sum=$(md5sum "$_w" 2>/dev/null | cut -d' ' -f1)
				echo "$_w ${_sum:--}" >> "$_PROCD_I/files"
			done ;;
		respawn)
			grep -v '^respawn ' "$_PROCD_I/params" > "$_PROCD_I/params.new"; mv "$_PROCD_I/params.new" "$_PROCD_I/params"
			echo "respawn ${1:-3600} ${2:-5} ${3:-5}" >> "$_PROCD_I/params" ;;
		*)
			if [ "$_mode" = set ]; then
				grep -v "^$_key " "$_PROCD_I/params" > "$_PROCD_I/params.new"; mv "$_PROCD_I/params.new" "$_PROCD_I/params"
			fi
			echo "$_key $*" >> "$_PROCD_I/params" ;;
	esac
}
procd_set_param() { _procd_param set "$@"; }
procd_append_param() { _procd_param append "$@"; }

# Triggers, validation, jails and mDNS are accepted and not acted on: the lab has no ubus events or hotplug.
procd_open_trigger() { :; }
procd_close_trigger() { :; }
procd_add_raw_trigger() { :; }
procd_add_config_trigger() { :; }
procd_add_reload_trigger() { :; }
procd_add_reload_data_trigger() { :; }
procd_add_service_trigger() { :; }
procd_add_interface_trigger() { :; }
procd_add_reload_interface_trigger() { :; }
procd_add_reload_mount_trigger() { :; }
procd_add_restart_mount_trigger() { :; }
procd_open_validate() { :; }
procd_close_validate() { :; }
procd_add_validation() { :; }
procd_open_data() { :; }
procd_close_data() { :; }
procd_add_jail() { :; }
procd_add_jail_mount() { :; }
procd_add_jail_mount_rw() { :; }
procd_set_config_changed() { :; }
procd_add_mdns() { :; }
procd_add_mdns_service() { :; }

procd_kill() { # service [instance]
	if [ -n "$2" ]; then
		ubus call service delete "{ \"name\": \"$1\", \"instance\": \"$2\" }"
	else
		ubus call service delete "{ \"name\": \"$1\" }"
	fi
}

procd_send_signal() { # service [instance] [signal]
	_sig=${3:-HUP}
	case "$_sig" in [0-9]*) ;; *) _sig=$(kill -l "$_sig" 2>/dev/null || echo 1) ;; esac
	ubus call service signal "{ \"name\": \"$1\"${2:+, \"instance\": \"$2\"}, \"signal\": $_sig }"
}

procd_running() { # service [instance]
	_out=$(ubus call service list "{ \"name\": \"$1\" }" 2>/dev/null)
	case "$_out" in *'"running": true'*) return 0 ;; esac
	return 1
}

# status: running / "running (n/m)" / "not running" (5) / "active with no instances" / inactive (3), as procd.sh says.
_procd_status() { # service [instance]
	_out=$(ubus call service list "{ \"name\": \"$1\" }" 2>/dev/null)
	case "$_out" in *"\"$1\""*) ;; *) echo "inactive"; return 3 ;; esac
	case "$_out" in *'"instances"'*) ;; *) echo "active with no instances"; return 0 ;; esac
	_up=$(printf '%s\n' "$_out" | grep -c '"running": true')
	_all=$(printf '%s\n' "$_out" | grep -c '"running": ')
	if [ "$_up" -gt 0 ] && [ "$_up" -eq "$_all" ]; then echo "running"; return 0; fi
	if [ "$_up" -gt 0 ]; then echo "running ($_up/$_all)"; return 0; fi
	echo "not running"; return 5
}
