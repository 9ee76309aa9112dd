#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the tests and for trying examples/slurm.
#
#   tools/slurm-local.sh start    # munged, slurmctld, slurmd; waits until the node is idle
#   eval "$(tools/slurm-local.sh env)"   # SLURM_CONF for sbatch, squeue, scontrol, ...
#   tools/slurm-local.sh status   # exit 0 when all three daemons run and the node answers
#   tools/slurm-local.sh stop     # cancels the jobs, stops the daemons and the jobs' processes
#
# Debian's slurm-wlm and munge (`make system-deps`), run as root without systemd: the daemons
# are started directly, each with its state, spool, log, pid and socket files in one private
# directory, SLURM_LOCAL_DIR (default /tmp/simforecast-slurm-$UID). Nothing under /etc, /run or
# /var is used, so the system's own Slurm or munge, if any, is left alone. The configuration is
# the one that works in a container: ProctrackType=proctrack/linuxproc and TaskPlugin=task/none
# (no cgroups), SlurmdUser=root, SelectType=select/cons_tres; the node is this host, with the
# CPUs and memory `slurmd -C` finds. Ports: 6817/6818 when free, else the next free pair.
#
# Exit codes: 0 done; 1 failed (the daemons' log tails are printed); 2 cannot run here
# (not root, or Slurm/munge not installed).
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/tmp/simforecast-slurm-$(id -u)}
CONF=$DIR/etc/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket.2
START_TIMEOUT=${SLURM_LOCAL_START_TIMEOUT:-60}
NODE=$(hostname -s)

say() { echo "slurm-local: $*"; }
die() { echo "slurm-local: error: $*" >&2; exit 1; }
cannot() { echo "slurm-local: cannot run here: $*" >&2; exit 2; }

# whether a process runs: a zombie has exited (the daemons are orphans, and this container's
# init may reap them only seconds later)
running() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [[ ${st:0:1} != Z ]]
}

# pid of a daemon from its pid file, if that process runs
alive_pid() {
    local f=$1 pid
    [[ -s $f ]] || return 1
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] && running "$pid" && echo "$pid"
}

require_host() {
    [[ $(id -u) == 0 ]] || cannot "must run as root (slurmd runs each job as its user, SlurmdUser=root); uid is $(id -u)"
    local missing=()
    for c in munged munge unmunge slurmctld slurmd sbatch scontrol sinfo squeue scancel ss; do
        command -v "$c" >/dev/null || missing+=("$c")
    done
    ((${#missing[@]} == 0)) || cannot "missing ${missing[*]}: apt-get install slurm-wlm munge iproute2 (make system-deps)"
}

port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# the first pair of consecutive free TCP ports from 6817 on
free_ports() {
    local p
    for ((p = 6817; p < 6917; p += 2)); do
        if port_free "$p" && port_free $((p + 1)); then echo "$p $((p + 1))"; return; fi
    done
    die "no free pair of TCP ports in 6817-6917"
}

write_conf() {
    local ctld_port=$1 slurmd_port=$2 hw
    # CPUs, boards, sockets, cores, threads and RealMemory as slurmd itself detects them, so the
    # node registers without being drained for a mismatch
    hw=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //')
    [[ $hw == *CPUs=* && $hw == *RealMemory=* ]] || die "slurmd -C gave no hardware line: $hw"
    cat >"$CONF" <<EOF
# written by tools/slurm-local.sh: a single-node cluster for tests (all paths private)
ClusterName=simforecast
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# finished jobs stay visible to scontrol for 10 minutes (there is no accounting database)
MinJobAge=600
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

start_munge() {
    # a fresh key for this cluster only (munged insists on 0400/0600 and a private directory)
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$DIR/munge/munge.key"
    munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed" \
        || die "munged did not start: $(tail -5 "$DIR/log/munged.log" 2>/dev/null)"
    munge -n --socket="$MUNGE_SOCKET" | unmunge --socket="$MUNGE_SOCKET" >/dev/null \
        || die "munge credentials do not round-trip through $MUNGE_SOCKET"
}

log_tails() {
    local f
    for f in "$DIR"/log/*.log; do
        [[ -f $f ]] || continue
        echo "---- last lines of $f"
        tail -15 "$f"
    done >&2
}

node_state() { SLURM_CONF=$CONF sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1; }

cmd_start() {
    require_host
    if [[ -f $CONF ]] && status_quiet; then
        say "already running ($DIR)"
        return 0
    fi
    # refuse to wipe a directory this script did not make (SLURM_LOCAL_DIR may be mistyped)
    if [[ -d $DIR && -n $(ls -A "$DIR") && ! -f $DIR/etc/slurm.conf ]]; then
        die "$DIR exists and is not a slurm-local directory: choose another SLURM_LOCAL_DIR"
    fi
    # leftovers of a cluster that died: stop what is still there, then start afresh
    [[ -f $CONF ]] && stop_all >/dev/null 2>&1
    rm -rf "$DIR"
    mkdir -p "$DIR"/{etc,munge,ctld,spool,log,run}
    chmod 0700 "$DIR" "$DIR/munge"
    # a start that fails half-way stops what it started
    trap 'log_tails; stop_all >/dev/null 2>&1' EXIT
    local ports
    ports=$(free_ports)
    # shellcheck disable=SC2086
    write_conf $ports
    start_munge
    slurmctld -f "$CONF" -c -i || die "slurmctld did not start"
    slurmd -f "$CONF" -N "$NODE" || die "slurmd did not start"
    local t0=$SECONDS state=""
    while ((SECONDS - t0 < START_TIMEOUT)); do
        state=$(node_state)
        case $state in
            idle*|mixed*|allocated*) break ;;
        esac
        sleep 0.5
    done
    case $state in
        idle*|mixed*|allocated*) ;;
        *) die "node $NODE not ready after ${START_TIMEOUT} s (sinfo state: '${state:-no answer}')" ;;
    esac
    trap - EXIT
    say "running: node $NODE ($state), ports $ports, directory $DIR"
    say "use it with: export SLURM_CONF=$CONF"
}

status_quiet() {
    alive_pid "$DIR/run/munged.pid" >/dev/null && alive_pid "$DIR/run/slurmctld.pid" >/dev/null \
        && alive_pid "$DIR/run/slurmd.pid" >/dev/null && [[ -n $(node_state) ]]
}

cmd_status() {
    local d ok=0 pid
    for d in munged slurmctld slurmd; do
        if pid=$(alive_pid "$DIR/run/$d.pid"); then say "$d running (pid $pid)"
        else say "$d not running"; ok=1; fi
    done
    if ((ok == 0)); then
        SLURM_CONF=$CONF sinfo -N -o '%N %T %c %m' || ok=1
        SLURM_CONF=$CONF squeue || ok=1
    fi
    return $ok
}

# processes of this cluster's jobs, never matched by name: a job's environment has SLURM_JOB_ID
# and SLURM_CONF=$CONF (sbatch exports the submitter's environment, slurmd sets the rest), and
# the job steps' slurmstepd work in $DIR (slurmd's log directory). A shell that only exported
# SLURM_CONF has no SLURM_JOB_ID and is left alone.
job_pids() {
    local f pid
    # one grep over all processes each (a loop of per-process commands takes seconds)
    for f in $(grep -l -x slurmstepd /proc/[0-9]*/comm 2>/dev/null); do
        pid=${f#/proc/}; pid=${pid%/comm}
        [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$DIR"/* ]] && running "$pid" && echo "$pid"
    done
    for f in $(grep -l -z -x -F "SLURM_CONF=$CONF" /proc/[0-9]*/environ 2>/dev/null); do
        pid=${f#/proc/}; pid=${pid%/environ}
        [[ $pid != "$$" ]] && grep -q -z '^SLURM_JOB_ID=' "$f" 2>/dev/null && running "$pid" && echo "$pid"
    done
    return 0
}

wait_gone() {  # wait up to $1 seconds for the pids $2... to exit
    local limit=$1 t0=$SECONDS p left
    shift
    while ((SECONDS - t0 < limit)); do
        left=0
        for p in "$@"; do running "$p" && left=1; done
        ((left == 0)) && return 0
        sleep 0.2
    done
    return 1
}

stop_all() {
    local pids=() d pid
    if [[ -f $CONF ]] && alive_pid "$DIR/run/slurmctld.pid" >/dev/null; then
        SLURM_CONF=$CONF scancel --quiet --user=root --full 2>/dev/null || true
        local t0=$SECONDS
        while ((SECONDS - t0 < 15)) && [[ -n $(SLURM_CONF=$CONF squeue -h 2>/dev/null) ]]; do sleep 0.3; done
        # stops slurmctld and every slurmd of the cluster
        SLURM_CONF=$CONF scontrol shutdown >/dev/null 2>&1 || true
    fi
    for d in slurmd slurmctld; do
        pid=$(alive_pid "$DIR/run/$d.pid") && pids+=("$pid")
    done
    if ((${#pids[@]})); then
        wait_gone 10 "${pids[@]}" || { kill -TERM "${pids[@]}" 2>/dev/null || true; wait_gone 5 "${pids[@]}" || kill -KILL "${pids[@]}" 2>/dev/null || true; }
    fi
    # whatever of the jobs survived (a job step outliving its daemons)
    mapfile -t pids < <(job_pids)
    if ((${#pids[@]})); then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait_gone 5 "${pids[@]}" || kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    if pid=$(alive_pid "$DIR/run/munged.pid"); then
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone 5 "$pid" || kill -KILL "$pid" 2>/dev/null || true
    fi
}

cmd_stop() {
    if [[ ! -d $DIR ]]; then say "not running (no $DIR)"; return 0; fi
    stop_all
    local left=()
    for d in munged slurmctld slurmd; do
        alive_pid "$DIR/run/$d.pid" >/dev/null && left+=("$d")
    done
    mapfile -t -O "${#left[@]}" left < <(job_pids)
    ((${#left[@]} == 0)) || die "still running after stop: ${left[*]}"
    say "stopped (logs kept in $DIR/log until the next start)"
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 start|stop|status|env   (directory: SLURM_LOCAL_DIR=$DIR)" >&2; exit 2 ;;
esac
